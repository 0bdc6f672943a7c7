/**
 * The SDK calls the console makes, from Node against a real server on a socket: who the key is,
 * the families' forms, a streamed chat with its token counts, images, the upload without
 * XMLHttpRequest (plain fetch), and OpenAI-shaped errors mapped to MaasApiError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasApiError } from '../../src/sdk/client';
import { ConsoleClient } from '../../src/sdk/console';
import { linearModel } from '../helpers/onnx-fixtures';
import { ADMIN_KEY, type TestServer } from '../helpers/server';
import { taskServer } from '../tasks/fixtures/server';

describe('ConsoleClient against a real server', () => {
  let server: TestServer;
  let client: ConsoleClient;
  let url: string;
  beforeAll(async () => {
    server = await taskServer(['bigram', 'cppn']);
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
