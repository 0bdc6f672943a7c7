/**
 * A tenant flooding a shared model over a real socket: with fair scheduling the model's queue bound
 * (`max_queue`) holds per tenant, so the flooder gets 429s while a light tenant's requests are all
 * admitted and answered; with MAAS_SCHEDULING=fifo (the old behaviour) the flood fills the one
 * queue and the light tenant is refused too. Statuses are counted, never times. Also: the tenant
 * limits that steer scheduling (`weight`, `concurrency`) are validated and are a tenant's only.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { slowModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { bearer, mintKey } from './platform-fixture';

/** x [batch, 16, 256] through `steps` MatMuls with the identity: a few ms per run. */
function busyModel(steps: number): Uint8Array {
  return slowModel(steps, 16);
}

const BODY = JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 16, 256], datatype: 'FP32', data: new Array(16 * 256).fill(0.5) }],
});

async function world(scheduling: 'fair' | 'fifo') {
  const s = await testServer({ scheduling });
  expect((await upload(s.app, 'shared', busyModel(30), '?max_batch_size=1&max_queue=3')).statusCode).toBe(
    201,
  );
  const pub = await s.app.inject({
    method: 'PATCH',
    url: '/api/v1/models/shared',
    headers: auth,
    payload: { public: true },
  });
  expect(pub.statusCode, pub.body).toBe(200);
  const keys: Record<string, string> = {};
  for (const name of ['heavy', 'light']) {
    const t = await s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name },
    });
    expect(t.statusCode, t.body).toBe(201);
    keys[name] = (await mintKey(s, { tenant: name, name: `${name}-app`, scopes: ['infer'] })).key;
  }
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
  const infer = async (key: string): Promise<number> => {
    const res = await fetch(`${base}/v2/models/default~shared/infer`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: BODY,
    });
    await res.arrayBuffer();
    return res.status;
  };
  return { s, heavy: () => infer(keys.heavy), light: () => infer(keys.light) };
}

/** Heavy keeps 12 requests going (a refused one is sent again) while light sends 5, one at a time. */
async function flood(w: Awaited<ReturnType<typeof world>>) {
  const heavy = { served: 0, refused: 0 };
  let stop = false;
  const loop = async () => {
    while (!stop) {
      const status = await w.heavy();
      if (status === 200) heavy.served++;
      else if (status === 429) heavy.refused++;
      else throw new Error(`heavy got ${status}`);
    }
  };
  const loops = Array.from({ length: 12 }, loop);
  // Light starts once heavy has filled its share of the queue (it was refused).
  while (heavy.refused === 0) await new Promise((r) => setTimeout(r, 5));
  const light: number[] = [];
  for (let i = 0; i < 5; i++) light.push(await w.light());
  stop = true;
  await Promise.all(loops);
  return { heavy, light };
}

describe('a flooding tenant and a light one on one model', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('fair: the flooder gets 429s, the light tenant none', async () => {
    const w = await world('fair');
    s = w.s;
    const { heavy, light } = await flood(w);
    expect(heavy.refused).toBeGreaterThan(0);
    expect(heavy.served).toBeGreaterThan(0);
    expect(light).toEqual([200, 200, 200, 200, 200]);
  }, 120_000);

  it('fifo (the comparison): the flood fills the one queue and the light tenant is refused too', async () => {
    const w = await world('fifo');
    s = w.s;
    const { heavy, light } = await flood(w);
    expect(heavy.refused).toBeGreaterThan(0);
    expect(light.filter((c) => c === 429).length).toBeGreaterThan(0);
  }, 120_000);

  it("validates weight and concurrency, a tenant's limits only", async () => {
    s = await testServer();
    const post = (url: string, payload: unknown) =>
      s!.app.inject({ method: 'POST', url, headers: auth, payload: payload as Record<string, unknown> });
    const ok = await post('/api/v1/tenants', { name: 'weighty', limits: { weight: 3, concurrency: 4 } });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().limits).toEqual({ weight: 3, concurrency: 4 });
    const zero = await post('/api/v1/tenants', { name: 'zero', limits: { weight: 0 } });
    expect(zero.statusCode).toBe(400);
    expect(zero.json()).toMatchObject({
      pointer: 'limits.weight',
      detail: expect.stringMatching(/1 to 1000/),
    });
    const onKey = await post('/api/v1/keys', { name: 'k', scopes: ['infer'], limits: { concurrency: 2 } });
    expect(onKey.statusCode).toBe(400);
    expect(onKey.json()).toMatchObject({
      pointer: 'limits.concurrency',
      detail: expect.stringMatching(/tenant limit/),
    });
  });
});
