/**
 * Asynchronous predictions over the synchronous routes' handlers: every task kind, Prefer: wait
 * both ways, the SSE stream, cancel while queued and while running, files, the paged list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../src/models/common/image';
import { auth, type TestServer } from '../helpers/server';
import { create, getPrediction, predictionServer, until } from './fixtures';

let server: TestServer;
beforeAll(async () => {
  server = await predictionServer({ predictionConcurrency: 1 });
});
afterAll(async () => server?.close());

const post = (url: string, payload: unknown) =>
  server.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });

describe('predictions', () => {
  it('generate with Prefer: wait answers the finished prediction, the same text as the synchronous route', async () => {
    const input = { prompt: 'the ', max_tokens: 20, seed: 3 };
    const res = await create(server, { model: 'bigram', input }, 'wait');
    expect(res.statusCode).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({
      status: 'succeeded',
      task: 'generate',
      model: 'bigram',
      version: '1',
      error: null,
    });
    expect(p.urls.get).toBe(`/api/v1/predictions/${p.id}`);
    const sync = (await post('/api/v1/models/bigram/generate', input)).json();
    expect(p.output.choices[0].text).toBe(sync.choices[0].text);
    expect(p.output.usage).toEqual(sync.usage);
    expect(p.logs).toContain('succeeded');
  });

  it('embed, classify, imagine (images as files) and infer (tensors) each run their route', async () => {
    const e = (await create(server, { model: 'bag', input: { input: ['cat', 'dog'] } }, 'wait=60')).json();
    expect(e).toMatchObject({ status: 'succeeded', task: 'embed', output: { dimensions: 16 } });
    expect(e.output.embeddings).toHaveLength(2);
    const c = (await create(server, { model: 'vowels', input: { inputs: ['aaa', 'zzz'] } }, 'wait')).json();
    expect(c.output.predictions.map((x: { label: string }) => x.label)).toEqual(['vowels', 'consonants']);
    const i = (
      await create(server, { model: 'cppn', input: { prompt: 'x', width: 20, height: 10, seed: 9 } }, 'wait')
    ).json();
    expect(i.task).toBe('imagine');
    expect(i.output.images[0]).toMatchObject({
      url: `/api/v1/predictions/${i.id}/files/0`,
      content_type: 'image/png',
    });
    const png = await server.app.inject({ method: 'GET', url: i.output.images[0].url, headers: auth });
    expect(png.headers['content-type'], png.body).toBe('image/png');
    expect(decodePng(png.rawPayload)).toMatchObject({ width: 20, height: 10 });
    const t = (
      await create(
        server,
        {
          model: 'bigram',
          task: 'infer',
          input: { inputs: [{ name: 'token', datatype: 'INT64', shape: [1], data: [1] }] },
        },
        'wait',
      )
    ).json();
    expect(t).toMatchObject({ status: 'succeeded', task: 'infer', output: { model_name: 'bigram' } });
  });

  it('a bad input fails the prediction with the route’s own 4xx; a bad envelope is refused at once', async () => {
    const bad = (
      await create(server, { model: 'bigram', input: { prompt: 'x', tenant: 'other' } }, 'wait')
    ).json();
    expect(bad).toMatchObject({ status: 'failed', error: { status: 400, code: 'invalid_request' } });
    expect(bad.error.detail).toContain("unknown property 'tenant'");
    const wrongTask = (
      await create(server, { model: 'bigram', task: 'embed', input: { input: 'x' } }, 'wait')
    ).json();
    expect(wrongTask.error.detail).toBe("model 'bigram' can do text-generation, not embeddings");
    expect((await create(server, { model: 'ghost', input: {} })).statusCode).toBe(404);
    expect((await create(server, { model: 'bigram', input: 'x' })).json()).toMatchObject({
      pointer: 'input',
    });
    expect((await create(server, { model: 'bigram', input: {}, extra: 1 })).json()).toMatchObject({
      pointer: 'extra',
    });
    expect((await create(server, { model: 'bigram', input: {} }, 'wait=61')).statusCode).toBe(400);
    const ftp = await create(server, { model: 'bigram', input: {}, webhook: 'ftp://example.com/x' });
    expect(ftp.json()).toMatchObject({ status: 400, pointer: 'webhook' });
  });

  it('without Prefer: wait the answer is at once; a short wait returns it unfinished; cancel running and queued', async () => {
    // One slot: a long generation runs, a second waits queued behind it.
    const long = { model: 'bigram', input: { prompt: 'the ', max_tokens: 60_000, seed: 1 } };
    const running = (await create(server, long)).json();
    expect(running.status).toBe('starting');
    const queued = (await create(server, long, 'wait=1')).json();
    expect(queued.status).toBe('starting');
    await until(server, running.id, (p) => p.status === 'processing');
    const canceledQueued = (await post(`/api/v1/predictions/${queued.id}/cancel`, {})).json();
    expect(canceledQueued).toMatchObject({ status: 'canceled', error: null });
    const canceledRunning = (await post(`/api/v1/predictions/${running.id}/cancel`, {})).json();
    expect(canceledRunning.status).toBe('canceled');
    expect(canceledRunning.logs).toContain('canceled');
    // Canceling again changes nothing; the queued one never ran.
    expect((await post(`/api/v1/predictions/${running.id}/cancel`, {})).json().status).toBe('canceled');
    expect((await getPrediction(server, queued.id)).started_at).toBeNull();
  });

  it('the SSE stream carries each token as it comes, then done', async () => {
    const p = (
      await create(server, { model: 'bigram', input: { prompt: 'the ', max_tokens: 15, seed: 5 } })
    ).json();
    const res = await server.app.inject({ method: 'GET', url: p.urls.stream, headers: auth });
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = res.body
      .split('\n\n')
      .filter(Boolean)
      .map((f) => ({
        event: /^event: (.*)$/m.exec(f)?.[1],
        data: JSON.parse(/^data: (.*)$/m.exec(f)?.[1] ?? 'null'),
      }));
    const done = events.find((e) => e.event === 'done');
    expect(done?.data.status).toBe('succeeded');
    const tokens = events.filter((e) => e.event === 'output' && typeof e.data?.text === 'string');
    // Either it streamed live (15 tokens) or it had finished before the stream opened (whole output).
    const text =
      tokens.length > 0
        ? tokens.map((t) => t.data.text).join('')
        : events.find((e) => e.event === 'output')?.data.choices[0].text;
    expect(text).toBe(done?.data.output.choices[0].text);
  });

  it('lists newest first in pages', async () => {
    const first = (
      await server.app.inject({ method: 'GET', url: '/api/v1/predictions?limit=2', headers: auth })
    ).json();
    expect(first.results).toHaveLength(2);
    const next = (await server.app.inject({ method: 'GET', url: first.next, headers: auth })).json();
    expect(next.results[0].id).not.toBe(first.results[1].id);
    expect(Date.parse(next.results[0].created_at)).toBeLessThanOrEqual(
      Date.parse(first.results[1].created_at),
    );
  });
});
