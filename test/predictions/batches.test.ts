/**
 * OpenAI batches through the official `openai` client on a real socket: files.create (purpose
 * batch), batches.create, poll, read the output file. Every line is answered once, in input
 * order, with its custom_id; a bad line goes to the error file and the others still run.
 */
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type TestServer } from '../helpers/server';
import { predictionServer } from './fixtures';

let server: TestServer;
let client: OpenAI;
beforeAll(async () => {
  server = await predictionServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (server.app.server.address() as AddressInfo).port;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: ADMIN_KEY });
});
afterAll(async () => server?.close());

async function finished(id: string) {
  for (let i = 0; i < 1200; i++) {
    const b = await client.batches.retrieve(id);
    if (['completed', 'failed', 'cancelled', 'expired'].includes(b.status)) return b;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the batch never finished');
}

const jsonl = (lines: unknown[]) =>
  new File([lines.map((l) => JSON.stringify(l)).join('\n')], 'requests.jsonl');

describe('OpenAI batches', () => {
  it('completions: every line answered in order with its custom_id; a bad line lands in the error file', async () => {
    const lines = [0, 1, 2, 3].map((i) => ({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/completions',
      body: { model: 'bigram', prompt: 'the ', max_tokens: 4 + i, seed: i },
    }));
    const bad = {
      custom_id: 'req-bad',
      method: 'POST',
      url: '/v1/completions',
      body: { model: 'ghost', prompt: 'x' },
    };
    const file = await client.files.create({
      file: jsonl([lines[0], lines[1], bad, lines[2], lines[3]]),
      purpose: 'batch',
    });
    expect(file.purpose).toBe('batch');
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(batch.object).toBe('batch');
    const done = await finished(batch.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 5, completed: 4, failed: 1 });
    expect(done.metadata).toEqual({ job: 'nightly' });
    const output = (await (await client.files.content(done.output_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(output.map((o) => o.custom_id)).toEqual(['req-0', 'req-1', 'req-2', 'req-3']);
    for (const [i, o] of output.entries()) {
      expect(o.response.status_code).toBe(200);
      expect(o.response.body.usage.completion_tokens).toBe(4 + i);
    }
    // The same answer as the synchronous route for the same request.
    const sync = await client.completions.create(lines[1].body as OpenAI.CompletionCreateParamsNonStreaming);
    expect(output[1].response.body.choices[0].text).toBe(sync.choices[0].text);
    const errors = (await (await client.files.content(done.error_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: 'req-bad', response: { status_code: 404 } });
    expect(errors[0].response.body.error.code).toBe('model_not_found');
    const listed = await client.batches.list();
    expect(listed.data.map((b) => b.id)).toContain(batch.id);
  });

  it('embeddings, and a wrong endpoint or file purpose is refused at creation', async () => {
    const lines = ['cat', 'dog', 'mat'].map((w, i) => ({
      custom_id: `e${i}`,
      method: 'POST',
      url: '/v1/embeddings',
      body: { model: 'bag', input: w },
    }));
    const file = await client.files.create({ file: jsonl(lines), purpose: 'batch' });
    const done = await finished(
      (
        await client.batches.create({
          input_file_id: file.id,
          endpoint: '/v1/embeddings',
          completion_window: '24h',
        })
      ).id,
    );
    expect(done.request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
    const output = (await (await client.files.content(done.output_file_id as string)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(output.map((o) => o.custom_id)).toEqual(['e0', 'e1', 'e2']);
    expect(output[0].response.body.data[0].embedding).toHaveLength(16);
    await expect(
      client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/moderations' as '/v1/embeddings',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client.batches.create({
        input_file_id: 'file-nope',
        endpoint: '/v1/embeddings',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});
