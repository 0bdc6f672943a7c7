/**
 * Native task endpoints under /api/v1/models/{name}, in-process (inject) over real models, and the
 * CLI's task verbs against the same server on a real socket.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { audioDuration, parseWav } from '../../src/models/common/audio';
import { decodePng } from '../../src/models/common/image';
import { findExecutable } from '../../src/models/tts/process';
import { ADMIN_KEY, auth, type TestServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { taskServer } from './fixtures/server';

let server: TestServer;
const hasSpeech = (await findExecutable('espeak-ng', process.env.PATH)) !== null;

let url: string;
let out: { dir: string; remove: () => Promise<void> };

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

const post = (path: string, payload: unknown) =>
  server.app.inject({
    method: 'POST',
    url: `/api/v1/models/${path}`,
    headers: auth,
    payload: payload as object,
  });

describe('native task endpoints', () => {
  it('generate: JSON answer with usage, and the same text as SSE delta events', async () => {
    const req = { prompt: 'the ', max_tokens: 25, seed: 3 };
    const res = await post('bigram/generate', req);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      model: 'bigram',
      version: 1,
      usage: { prompt_tokens: 4, completion_tokens: 25 },
    });
    const sse = await post('bigram/generate', { ...req, stream: true });
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = sse.body
      .split('\n\n')
      .filter(Boolean)
      .map((e) => {
        const [head, data] = e.split('\n');
        return { event: head.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) };
      });
    const text = events.filter((e) => e.event === 'delta').map((e) => e.data.text);
    expect(text.join('')).toBe(body.choices[0].text);
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { usage: body.usage } });
  });

  it('refuses unknown properties and bad values with problem+json', async () => {
    const res = await post('bigram/generate', { prompt: 'x', tenant: 'other' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'invalid_request', pointer: 'tenant' });
    const wrong = await post('bigram/embed', { input: 'x' });
    expect(wrong.json().detail).toBe("model 'bigram' can do text-generation, not embeddings");
    expect((await post('ghost/generate', { prompt: 'x' })).statusCode).toBe(404);
    expect((await post('bigram/generate', { prompt: 'x', version: 9 })).statusCode).toBe(404);
  });

  it('embed, classify and imagine', async () => {
    const e = (await post('bag/embed', { input: ['cat', 'dog'] })).json();
    expect(e.dimensions).toBe(16);
    expect(e.embeddings).toHaveLength(2);
    expect(e.usage.prompt_tokens).toBe(6);
    const c = (await post('vowels/classify', { inputs: ['aaa', 'zzz'] })).json();
    expect(c.predictions.map((p: { label: string }) => p.label)).toEqual(['vowels', 'consonants']);
    const i = (await post('cppn/imagine', { prompt: 'x', n: 1, width: 20, height: 10, seed: 9 })).json();
    const img = decodePng(Buffer.from(i.images[0].png_base64, 'base64'));
    expect([img.width, img.height]).toEqual([20, 10]);
    const again = (await post('cppn/imagine', { prompt: 'x', n: 1, width: 20, height: 10, seed: 9 })).json();
    expect(again.images[0].png_base64).toBe(i.images[0].png_base64);
  });

  it.skipIf(!hasSpeech)('speak returns a WAV with its duration in a header', async () => {
    const res = await post('espeak-ng/speak', { input: 'Testing one two three.', voice: 'en-us' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/wav');
    const seconds = audioDuration(parseWav(res.rawPayload));
    expect(seconds).toBeGreaterThan(0.5);
    expect(Number(res.headers['x-maas-audio-seconds'])).toBeCloseTo(seconds, 2);
    const listing = (await server.app.inject({ url: '/api/v1/speech/voices', headers: auth })).json();
    expect(listing.engines).toContainEqual(expect.objectContaining({ name: 'espeak-ng', available: true }));
    expect(listing.voices).toContainEqual(expect.objectContaining({ id: 'en-us', engine: 'espeak-ng' }));
    expect(listing.models.map((m: { id: string }) => m.id)).toContain('tts');
    const badVoice = await post('tts/speak', { input: 'x', voice: '../../etc/passwd' });
    expect(badVoice.statusCode).toBe(400);
  });
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
