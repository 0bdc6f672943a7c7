/**
 * Discovering what one can call, over a real socket against the real platform: `GET
 * /api/v1/models` and OpenAI's `GET /v1/models` list the caller's models, then other tenants'
 * public ones as `owner~name` with their owner (the zoo's as `zoo~NAME`), never another tenant's
 * private model; `?scope=own` lists one's own only; `maas models ls` prints the same list.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth } from '../helpers/server';
import { bearer, INFER_BODY, type TenantWorld, tenantWorld, uploadAs } from './platform-fixture';

interface Listed {
  id: string;
  owner: string;
  name: string;
  public: boolean;
}

describe('model lists: own and public models of other tenants', () => {
  let w: TenantWorld;
  let base: string;

  const get = async (key: string, path: string) => {
    const res = await fetch(`${base}${path}`, { headers: bearer(key) });
    return { status: res.status, body: await res.text() };
  };
  const native = async (key: string, query = ''): Promise<Listed[]> => {
    const res = await get(key, `/api/v1/models${query}`);
    expect(res.status, res.body).toBe(200);
    return JSON.parse(res.body).models;
  };
  const openai = async (key: string, query = ''): Promise<Array<{ id: string; owned_by: string }>> => {
    const res = await get(key, `/v1/models${query}`);
    expect(res.status, res.body).toBe(200);
    return JSON.parse(res.body).data;
  };

  beforeAll(async () => {
    w = await tenantWorld();
    // The zoo is a tenant whose models are public: the admin stands in for the zoo's installer.
    const zoo = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name: 'zoo' },
    });
    expect(zoo.statusCode, zoo.body).toBe(201);
    await uploadAs(w.s, 'test-admin-key-0123456789', 'zoo~lin', linearModel(4, 3).bytes);
    const pub = await w.s.app.inject({
      method: 'PATCH',
      url: '/api/v1/models/zoo~lin',
      headers: auth,
      payload: { public: true },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    // B has a private model of its own, named like A's private one.
    await uploadAs(w.s, w.keyB, 'priv', linearModel(4, 3).bytes);
    await w.s.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(w.s.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await w.s.close();
  });

  it("B sees its own models, then A's public model and the zoo's, never A's private one", async () => {
    const list = await native(w.keyB);
    expect(list.map((m) => [m.id, m.owner, m.name, m.public])).toEqual([
      ['priv', 'tenant-b', 'priv', false],
      ['tenant-a~pub', 'tenant-a', 'pub', true],
      ['zoo~lin', 'zoo', 'lin', true],
    ]);
    expect(JSON.stringify(list)).not.toContain('tenant-a~priv');
    // Every id listed is callable by B as it is written.
    for (const m of list) {
      const res = await fetch(`${base}/v2/models/${m.id}/infer`, {
        method: 'POST',
        headers: { ...bearer(w.keyB), 'content-type': 'application/json' },
        body: JSON.stringify(INFER_BODY),
      });
      expect(res.status, `${m.id}: ${await res.text()}`).toBe(200);
    }
    expect((await native(w.keyB, '?scope=own')).map((m) => m.id)).toEqual(['priv']);
    expect((await native(w.keyB, '?scope=all')).map((m) => m.id)).toEqual(list.map((m) => m.id));
  });

  it('A sees both its models once, by their plain names, and the zoo', async () => {
    expect((await native(w.keyA)).map((m) => [m.id, m.owner])).toEqual([
      ['priv', 'tenant-a'],
      ['pub', 'tenant-a'],
      ['zoo~lin', 'zoo'],
    ]);
    expect((await native(w.inferA, '?scope=own')).map((m) => m.id)).toEqual(['priv', 'pub']);
  });

  it('/v1/models lists the same models, owned_by their tenant; /v1/models/{id} answers for each', async () => {
    const data = await openai(w.keyB);
    const registered = data.filter((m) => m.owned_by !== 'maas');
    expect(registered).toEqual([
      { id: 'priv', object: 'model', created: expect.any(Number), owned_by: 'tenant-b' },
      { id: 'tenant-a~pub', object: 'model', created: expect.any(Number), owned_by: 'tenant-a' },
      { id: 'zoo~lin', object: 'model', created: expect.any(Number), owned_by: 'zoo' },
    ]);
    expect(registered.map((m) => m.id)).toEqual((await native(w.keyB)).map((m) => m.id));
    expect(JSON.stringify(data)).not.toContain('tenant-a~priv');
    expect((await openai(w.keyB, '?scope=own')).map((m) => m.id)).toEqual(['priv']);
    for (const m of data) {
      const one = await get(w.keyB, `/v1/models/${m.id}`);
      expect(one.status, one.body).toBe(200);
      expect(JSON.parse(one.body)).toEqual(m);
    }
    const hidden = await get(w.keyB, '/v1/models/tenant-a~priv');
    expect(hidden.status).toBe(404);
    expect(hidden.body).not.toContain('tenant-a');
  });

  it('a model made private again leaves the lists of others at once', async () => {
    const flip = (on: boolean) =>
      w.s.app.inject({
        method: 'PATCH',
        url: '/api/v1/models/pub',
        headers: bearer(w.keyA),
        payload: { public: on },
      });
    expect((await flip(false)).statusCode).toBe(200);
    try {
      expect((await native(w.keyB)).map((m) => m.id)).toEqual(['priv', 'zoo~lin']);
      expect((await openai(w.keyB)).map((m) => m.id)).not.toContain('tenant-a~pub');
    } finally {
      expect((await flip(true)).statusCode).toBe(200);
    }
  });

  it('a bad scope is a 400 naming the parameter, in each surface shape', async () => {
    const bad = await get(w.keyB, '/api/v1/models?scope=everything');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'invalid_request', pointer: 'scope' });
    expect(JSON.parse(bad.body).detail).toMatch(/scope must be one of own, all/);
    const badOpenAI = await get(w.keyB, '/v1/models?scope=x');
    expect(badOpenAI.status).toBe(400);
    expect(JSON.parse(badOpenAI.body).error).toMatchObject({ code: 'invalid_request', param: 'scope' });
  });

  it('maas models ls prints the list with owners; --scope own only yours', async () => {
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIO = { out: (x) => out.push(x), err: (x) => err.push(x), env: {}, stdin: async () => '' };
      const code = await main([...argv, '--url', base, '--key', w.keyB], io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const all = await run(['models', 'ls']);
    expect(all.code, all.err).toBe(0);
    const lines = all.out.split('\n');
    expect(lines[0]).toMatch(/^ID +OWNER +TASK +PUBLIC +UPDATED$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 2))).toEqual([
      ['priv', 'tenant-b'],
      ['tenant-a~pub', 'tenant-a'],
      ['zoo~lin', 'zoo'],
    ]);
    const own = await run(['models', 'ls', '--scope', 'own']);
    expect(
      own.out
        .split('\n')
        .slice(1)
        .map((l) => l.split(/ +/)[0]),
    ).toEqual(['priv']);
    const bad = await run(['models', 'ls', '--scope', 'mine']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--scope own|all');
  });
});
