/**
 * `maas models push NAME ./folder` sends a plain .tar of what the server keeps: the graph it will
 * serve (the variant asked for, else its default) with that graph's external data, and the other
 * files; the folder's other graphs stay home. Real files in a temp folder, read back by the
 * server's own archive reader.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesToPush } from '../../src/cli/push-folder';
import { archiveEntries, archiveFormat } from '../../src/data/formats/archive';
import { packFolderStream } from '../../src/data/formats/folder-pack';
import { tempDir } from '../helpers/tmp';

let dir: string;
let remove: () => Promise<void>;

async function folder(files: Record<string, string>): Promise<string> {
  const root = join(dir, 'model');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

const TEXT_FILES = { 'config.json': '{}', 'tokenizer.json': '{"model":{}}', 'tokenizer_config.json': '{}' };

beforeEach(async () => {
  ({ dir, remove } = await tempDir('maas-push-folder-'));
});
afterEach(() => remove());

describe('filesToPush', () => {
  const layout = {
    ...TEXT_FILES,
    'onnx/model.onnx': 'graph',
    'onnx/model.onnx_data': 'weights',
    'onnx/model_q4.onnx': 'q4 graph',
    'onnx/model_q4.onnx_data': 'q4 weights',
    'onnx/model_quantized.onnx': 'int8 graph',
  };

  it('sends the default graph and its external data, not the other variants', async () => {
    const root = await folder(layout);
    expect(await filesToPush(root, undefined)).toEqual([
      'config.json',
      'onnx/model.onnx',
      'onnx/model.onnx_data',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('sends the variant asked for instead', async () => {
    const root = await folder(layout);
    expect(await filesToPush(root, 'q4')).toEqual([
      'config.json',
      'onnx/model_q4.onnx',
      'onnx/model_q4.onnx_data',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('sends the graph a genai_config.json names', async () => {
    const root = await folder({
      ...TEXT_FILES,
      'genai_config.json': JSON.stringify({ model: { decoder: { filename: 'decoder.onnx' } } }),
      'decoder.onnx': 'graph',
      'onnx/model.onnx': 'another graph',
    });
    expect(await filesToPush(root, undefined)).toEqual([
      'config.json',
      'decoder.onnx',
      'genai_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('sends everything when it cannot tell (the server names the problem)', async () => {
    const noGraph = await folder(TEXT_FILES);
    expect(await filesToPush(noGraph, undefined)).toEqual(Object.keys(TEXT_FILES).sort());
    const root = await folder({ ...layout, 'genai_config.json': '{ not json' });
    expect(await filesToPush(root, undefined)).toHaveLength(Object.keys(layout).length + 1);
    expect(await filesToPush(root, 'no-such-variant')).toHaveLength(Object.keys(layout).length + 1);
  });
});

describe('packFolderStream', () => {
  it('writes a plain tar of the files asked for, which the server reads back byte for byte', async () => {
    const root = await folder({ ...TEXT_FILES, 'onnx/model.onnx': 'graph', 'onnx/model_q4.onnx': 'q4' });
    const archive = join(dir, 'model.tar');
    const files = ['config.json', 'onnx/model.onnx'];
    await pipeline(await packFolderStream(root, { files }), createWriteStream(archive));
    expect(archiveFormat(new Uint8Array(await readFile(archive)).subarray(0, 512))).toBe('tar');
    const read: Record<string, string> = {};
    for await (const e of archiveEntries(archive, 'tar')) read[e.name] = Buffer.from(e.data).toString();
    expect(read).toEqual({ 'config.json': '{}', 'onnx/model.onnx': 'graph' });
  });

  it('still writes .tar.gz when asked', async () => {
    const root = await folder(TEXT_FILES);
    const archive = join(dir, 'model.tgz');
    await pipeline(await packFolderStream(root, { gzip: true }), createWriteStream(archive));
    expect(archiveFormat(new Uint8Array(await readFile(archive)).subarray(0, 512))).toBe('tar.gz');
  });
});
