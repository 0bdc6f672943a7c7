/** The task verbs of the `maas` command against a real server on a real socket. */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { audioDuration, parseWav } from '../../src/models/common/audio';
import { decodePng } from '../../src/models/common/image';
import { findExecutable } from '../../src/models/tts/process';
import { ADMIN_KEY, type TestServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { taskServer } from './fixtures/server';

let server: TestServer;
let url: string;
let out: { dir: string; remove: () => Promise<void> };
const hasSpeech = (await findExecutable('espeak-ng', process.env.PATH)) !== null;

beforeAll(async () => {
  server = await taskServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  out = await tempDir('maas-cli-tasks-');
});
afterAll(async () => {
  await server?.close();
  await out?.remove();
});

async function maas(...argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = {
    out: (s) => stdout.push(s),
    err: (s) => stderr.push(s),
    env: {},
    stdin: async () => '',
  };
  const code = await main([...argv, '--url', url, '--key', ADMIN_KEY], io);
  return { code, stdout, stderr };
}

describe('maas task verbs', () => {
  it('generate prints the completion; a bad option or model is a clear error', async () => {
    const r = await maas('generate', 'bigram', 't', '--max-tokens', '3', '--temperature', '0');
    expect(r).toMatchObject({ code: 0, stdout: ['he '] });
    const missing = await maas('generate', 'ghost', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr[0]).toMatch(/ghost.*(not found|no version).*HTTP 404/);
    expect((await maas('generate', 'bigram', 'x', '--bogus', '1')).stderr[0]).toMatch(
      /unknown option --bogus/,
    );
  });

  it('embed prints one vector per text; classify one label per input', async () => {
    const e = await maas('embed', 'bag', 'cat', 'dog');
    expect(e.stdout.map((l) => (JSON.parse(l) as number[]).length)).toEqual([16, 16]);
    const c = await maas('classify', 'vowels', 'aeiou', 'xyz');
    expect(c.stdout.map((l) => l.split('\t')[1])).toEqual(['vowels', 'consonants']);
  });

  it('imagine writes PNG files of the requested size', async () => {
    const file = join(out.dir, 'art.png');
    const r = await maas(
      'imagine',
      'cppn',
      'waves',
      '--out',
      file,
      '--n',
      '2',
      '--width',
      '32',
      '--height',
      '16',
    );
    expect(r.code).toBe(0);
    for (const f of ['art-1.png', 'art-2.png']) {
      const img = decodePng(await readFile(join(out.dir, f)));
      expect([img.width, img.height]).toEqual([32, 16]);
    }
  });

  it.skipIf(!hasSpeech)('speak writes a WAV', async () => {
    const file = join(out.dir, 'hi.wav');
    const r = await maas('speak', 'Hello', 'there.', '--out', file, '--model', 'espeak-ng');
    expect(r.code).toBe(0);
    expect(audioDuration(parseWav(await readFile(file)))).toBeGreaterThan(0.3);
  });
});
