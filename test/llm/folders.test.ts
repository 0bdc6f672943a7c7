/**
 * Uploading model folders: every archive format by its bytes, quantised variants, external data
 * only from inside the folder, and bad folders (truncated archive, missing tokenizer.json,
 * external data pointing outside, a chat template that throws) → 400 naming the cause, with the
 * server still ready and nothing stored.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TinyFolder, writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { externalizeWeights } from './external-data';
import { folderFiles, packFolder, uploadArchive } from './helpers';

const hasZip = (() => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('model folder uploads', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;
  let llama: TinyFolder;
  let files: [string, Uint8Array | string][];

  beforeAll(async () => {
    root = await tempDir('maas-folders-');
    llama = await writeTinyLlamaFolder(join(root.dir, 'tiny'));
    files = await folderFiles(llama.dir);
    s = await testServer();
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  /** A chat answer works (the version really serves). */
  async function chats(model: string): Promise<void> {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().usage.completion_tokens).toBeGreaterThan(0);
  }

  async function refused(name: string, archive: Uint8Array, cause: RegExp, query = '') {
    const res = await uploadArchive(s.app, name, archive, 'application/gzip', query);
    expect(res.statusCode, JSON.stringify(res.body)).toBe(400);
    expect(String(res.body.detail)).toMatch(cause);
    expect(JSON.stringify(res.body)).not.toContain(s.dataDir);
    expect((await s.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await s.app.inject({ url: `/api/v1/models/${name}`, headers: auth })).statusCode).toBe(404);
  }

  it.skipIf(!hasZip)(
    'a .zip sent as application/zip is recognised by its bytes',
    async () => {
      const zip = join(root.dir, 'tiny.zip');
      execFileSync('zip', ['-qr', zip, '.'], { cwd: llama.dir });
      const res = await uploadArchive(s.app, 'zipped', await readFile(zip), 'application/zip');
      expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
      await chats('zipped');
    },
    60_000,
  );

  it('picks a quantised sibling with ?variant and stores only that graph', async () => {
    const graph = files.find(([p]) => p === 'onnx/model.onnx')![1];
    const withVariant = [...files, ['onnx/model_q4.onnx', graph] as [string, Uint8Array | string]];
    const res = await uploadArchive(
      s.app,
      'q4',
      await packFolder(withVariant),
      'application/gzip',
      '?variant=q4',
    );
    expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
    const meta = res.body.metadata as { variant: string; graph: string; files: { path: string }[] };
    expect(meta.variant).toBe('q4');
    expect(meta.graph).toBe('onnx/model_q4.onnx');
    expect(meta.files.map((f) => f.path)).not.toContain('onnx/model.onnx');
    await chats('q4');
    // Without ?variant the full-precision graph is the default.
    const plain = await uploadArchive(s.app, 'q4-default', await packFolder(withVariant));
    expect((plain.body.metadata as { variant: string }).variant).toBe('default');
    await refused('q4-bad', await packFolder(withVariant), /variant 'int3'.*default, q4/, '?variant=int3');
  }, 90_000);

  it('external data inside the folder loads (model.onnx + model.onnx_data)', async () => {
    const { graph, data } = externalizeWeights(llama.onnx, 'model.onnx_data');
    expect(graph.length).toBeLessThan(data.length);
    const external = files
      .filter(([p]) => p !== 'onnx/model.onnx')
      .concat([
        ['onnx/model.onnx', graph],
        ['onnx/model.onnx_data', data],
      ]);
    const res = await uploadArchive(s.app, 'external', await packFolder(external));
    expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
    await chats('external');
    // Every file of the folder counts as referenced: the start-up orphan sweep keeps them all.
    expect(await s.platform.registry.collectOrphans()).toEqual([]);
    const views = () => readdir(join(s.dataDir, 'artifacts', 'views')).then((d) => d.length);
    const before = await views();
    const del = await s.app.inject({ method: 'DELETE', url: '/api/v1/models/external', headers: auth });
    expect(del.statusCode).toBeLessThan(300);
    // Its folder view (the hard links ONNX Runtime loaded from) goes with it.
    expect(await views()).toBe(before - 1);
  }, 60_000);

  it('bad folders → 400 naming the cause; the server stays ready and keeps nothing', async () => {
    const before = await readdir(join(s.dataDir, 'artifacts', 'sha256')).then((d) => d.length);
    const whole = await packFolder(files);
    await refused(
      'truncated',
      whole.subarray(0, Math.floor(whole.length / 2)),
      /archive.*(corrupt|unexpected end)/i,
    );
    await refused(
      'no-tokenizer',
      await packFolder(files.filter(([p]) => p !== 'tokenizer.json')),
      /no tokenizer\.json/,
    );
    for (const [location, why] of [
      ['../../etc/passwd', /'\.\.\/\.\.\/etc\/passwd' escapes the uploaded folder/],
      ['/etc/passwd', /'\/etc\/passwd' is absolute/],
      ['weights.bin', /'weights\.bin' is missing/],
    ] as const) {
      const { graph } = externalizeWeights(llama.onnx, location);
      const outside = files.map(
        ([p, b]) => [p, p === 'onnx/model.onnx' ? graph : b] as [string, Uint8Array | string],
      );
      await refused('outside', await packFolder(outside), why);
    }
    const throwing = files.map(([p, b]) => {
      if (p !== 'tokenizer_config.json') return [p, b] as [string, Uint8Array | string];
      const config = JSON.parse(Buffer.from(b as Uint8Array).toString('utf8'));
      config.chat_template = "{{ raise_exception('this model takes no chat') }}";
      return [p, JSON.stringify(config)] as [string, string];
    });
    await refused(
      'throws',
      await packFolder(throwing),
      /tokenizer_config\.json: the model's chat template failed: this model takes no chat/,
    );
    const broken = files.map(
      ([p, b]) => [p, p === 'config.json' ? '{"model_type": ' : b] as [string, Uint8Array | string],
    );
    await refused('broken', await packFolder(broken), /config\.json is not a valid JSON object/);
    expect(await readdir(join(s.dataDir, 'artifacts', 'sha256')).then((d) => d.length)).toBe(before);
    expect(existsSync(join(s.dataDir, 'artifacts', 'tmp'))).toBe(true);
    expect(await readdir(join(s.dataDir, 'artifacts', 'tmp'))).toEqual([]);
  }, 120_000);
});
