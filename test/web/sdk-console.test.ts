/**
 * The SDK calls the console makes, from Node against a real server on a socket: who the key is,
 * the families' forms, a streamed chat and a streamed completion with their token counts, images
 * with a CPPN's style, embeddings, speech, model and dataset uploads without XMLHttpRequest (plain
 * fetch) and the dataset's preview, the audit log's filters, and OpenAI-shaped errors mapped to
 * MaasApiError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/models/tts/process';
import { createCppnModel } from '../../src/models/vision/cppn';
import { paletteNames } from '../../src/models/vision/palettes';
import { MaasApiError } from '../../src/sdk/client';
import { ConsoleClient } from '../../src/sdk/console';
import { CPPN_PALETTES, cppnRequest, DEFAULT_CPPN } from '../../web/src/playgrounds/cppn-params';
import { linearModel } from '../helpers/onnx-fixtures';
import { ADMIN_KEY, type TestServer } from '../helpers/server';
import { pushModel, taskServer } from '../tasks/fixtures/server';

const hasEspeak = (await findExecutable('espeak-ng', process.env.PATH)) !== null;

describe('ConsoleClient against a real server', () => {
  let server: TestServer;
  let client: ConsoleClient;
  let url: string;
  beforeAll(async () => {
    server = await taskServer(['bigram', 'cppn', 'bag']);
    const art = createCppnModel({ seed: 3 });
    await pushModel(server, 'art', { onnx: art.onnx, metadata: { ...art.metadata } });
    url = await server.app.listen({ port: 0, host: '127.0.0.1' });
    client = new ConsoleClient({ url, key: ADMIN_KEY });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('me and families', async () => {
    expect(await client.me()).toMatchObject({ tenant: 'default', scopes: ['admin', 'manage', 'infer'] });
    const families = await client.families();
    expect(families.find((f) => f.name === 'cnn')?.dataset_kinds).toEqual(['image']);
  });

  it('a streamed chat: the text arrives in several pieces; the token counts at the end', async () => {
    const pieces: string[] = [];
    const usage = await client.chatStream(
      { model: 'bigram', messages: [{ role: 'user', content: 'the cat' }], max_tokens: 12, seed: 3 },
      (t) => pieces.push(t),
    );
    expect(pieces.length).toBeGreaterThan(1);
    expect(usage?.completion_tokens).toBe(12);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it('images, an upload with progress (no XMLHttpRequest in Node: plain upload), v2 metadata', async () => {
    const images = await client.imagine('cppn', { prompt: 'x', n: 2, width: 16, height: 16, seed: 1 });
    expect(images).toHaveLength(2);
    expect(Buffer.from(images[0], 'base64').subarray(1, 4).toString()).toBe('PNG');
    const progress: number[] = [];
    const v = await client.uploadModel('lin', new Blob([linearModel().bytes]), (f) => progress.push(f));
    expect(v.version).toBe(1);
    expect((await client.v2Metadata('lin')).inputs[0].datatype).toBe('FP32');
  });

  it('a streamed text completion', async () => {
    const pieces: string[] = [];
    const usage = await client.completeStream(
      { model: 'bigram', prompt: 'the', max_tokens: 8, seed: 2 },
      (t) => pieces.push(t),
    );
    expect(pieces.join('').length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(8);
  });

  it("the CPPN explorer's request is taken as is, and its palettes are the server's", async () => {
    expect(CPPN_PALETTES).toEqual(paletteNames());
    const a = await client.imagine('art', cppnRequest({ ...DEFAULT_CPPN, size: 24 }));
    const zoomed = await client.imagine('art', cppnRequest({ ...DEFAULT_CPPN, size: 24, zoomLog: 1 }));
    expect(a).toHaveLength(1);
    expect(zoomed[0]).not.toBe(a[0]);
  });

  it('embeddings: one vector per word', async () => {
    const out = await client.embed('bag', ['cat', 'dog', 'car']);
    expect(out.embeddings).toHaveLength(3);
    expect(out.embeddings[0]).toHaveLength(out.dimensions);
  });

  it.skipIf(!hasEspeak)('speech: the voices, and a WAV', async () => {
    const catalog = await client.speechVoices();
    expect(catalog.models.map((m) => m.id)).toContain('tts');
    const wav = await client.speak('tts', { input: 'hello', speed: 1.5 });
    expect(
      Buffer.from(await wav.arrayBuffer())
        .subarray(0, 4)
        .toString(),
    ).toBe('RIFF');
  });

  it('a dataset upload (plain, in Node) and its schema and class balance', async () => {
    const csv = 'x,y,label\n1,2,a\n2,3,b\n3,1,a\n4,4,a\n';
    const d = await client.uploadDataset('tiny', new Blob([csv]), () => {});
    expect(d.name).toBe('tiny');
    const detail = await client.getDataset('tiny');
    expect(detail.schema?.map((c) => [c.name, c.kind])).toEqual([
      ['x', 'numeric'],
      ['y', 'numeric'],
      ['label', 'categorical'],
    ]);
    expect(detail.classBalance).toEqual({ a: 3, b: 1 });
    expect(detail.preview?.[0]).toEqual({ x: '1', y: '2', label: 'a' });
  });

  it('training events resume after a dropped connection from Last-Event-ID: none lost, none twice', async () => {
    const job = await client.createTraining({
      family: 'mlp',
      dataset: 'xor',
      model: 'xor-sdk',
      hyperparameters: { epochs: 3 },
    });
    for (
      let i = 0;
      i < 600 && !['succeeded', 'failed'].includes((await client.getTraining(job.id)).status);
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect((await client.getTraining(job.id)).status).toBe('succeeded');
    // The first stream breaks after two events; what the SDK asks for next, and what it yields.
    const asked: string[] = [];
    const cutting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(init?.headers);
      if (!String(input).endsWith('/events')) return res;
      asked.push(headers.get('last-event-id') ?? '');
      if (asked.length > 1 || !res.body) return res;
      // Pass on exactly the first two events, then break the connection.
      const reader = res.body.getReader();
      let text = '';
      const cut = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          text += new TextDecoder().decode(value);
          const blocks = text.split('\n\n');
          if (blocks.length <= 2) return;
          c.enqueue(new TextEncoder().encode(`${blocks.slice(0, 2).join('\n\n')}\n\n`));
          await reader.cancel();
          c.error(new Error('connection reset'));
        },
      });
      return new Response(cut, { status: res.status, headers: res.headers });
    };
    const flaky = new ConsoleClient({ url, key: ADMIN_KEY, fetch: cutting });
    const ids: number[] = [];
    for await (const e of flaky.events(job.id)) ids.push(e.id);
    expect(asked.length).toBe(2);
    expect(asked[0]).toBe('0');
    expect(asked[1]).toBe('2');
    expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    const all = await client.listTrainings();
    expect(all.find((t) => t.id === job.id)?.status).toBe('succeeded');
  }, 90_000);

  it("the audit log's filters reach the server: action, tenant and days (the console's Filter form)", async () => {
    // The day before the entries are written: a run across midnight UTC still finds them.
    const today = new Date().toISOString().slice(0, 10);
    await client.tenancy.createTenant('acme');
    await client.tenancy.createKey({ tenant: 'acme', name: 'audit-test', scopes: ['infer'] });
    const acme = await client.audit({ tenant: 'acme', from: today });
    expect(acme.map((e) => e.action).sort()).toEqual(['key.create', 'tenant.create']);
    expect(acme.every((e) => e.targetTenantId === 'acme')).toBe(true);
    expect((await client.audit({ action: 'key.create', tenant: 'acme' })).map((e) => e.target)).toEqual([
      'key:audit-test',
    ]);
    expect(await client.audit({ from: '2020-01-01', to: '2020-01-02' })).toEqual([]);
  });

  it('errors of every surface become MaasApiError with the status and the message', async () => {
    const chat = client.chatStream({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }, () => {});
    await expect(chat).rejects.toMatchObject({ status: 404, name: 'MaasApiError' });
    const bad = new ConsoleClient({ url, key: 'wrong' });
    const e = await bad.me().catch((x) => x);
    expect(e).toBeInstanceOf(MaasApiError);
    expect(e.status).toBe(401);
    expect(e.message).toBe('the key is not valid');
  });
});
