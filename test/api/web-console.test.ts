/**
 * The console's files as the server hands them out: the page and every file it loads answer
 * without a key under a strict Content-Security-Policy, nothing comes from another origin, asset
 * names are never paths; and the two routes the console asks first (/api/v1/me, /api/v1/families).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/serve';
import { auth, type TestServer, testServer } from '../helpers/server';

const built = existsSync(join(REPO_ROOT, 'dist/web/index.html'));

describe('web console files and first calls', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it.skipIf(!built)(
    'the page and each file it loads: same origin, strict CSP, hashed names cached',
    async () => {
      const page = await s.app.inject({ url: '/' });
      expect(page.statusCode).toBe(200);
      const csp = String(page.headers['content-security-policy']);
      for (const rule of [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
      ])
        expect(csp).toContain(rule);
      expect(csp).not.toContain('unsafe-inline');
      expect(page.body).not.toMatch(/<script>(?!<)/);
      const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
      expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
      for (const ref of refs) {
        expect(ref, 'no CDN: every file is local').toMatch(/^\/assets\/[\w.-]+$/);
        const res = await s.app.inject({ url: ref });
        expect(res.statusCode, ref).toBe(200);
        expect(res.headers['content-security-policy']).toBe(csp);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      const js = refs.find((r) => r.endsWith('.js'))!;
      expect((await s.app.inject({ url: js })).headers['cache-control']).toContain('immutable');
    },
  );

  it('unknown or path-like asset names are 404 problems, never files', async () => {
    for (const url of [
      '/assets/nope.js',
      '/assets/..%2Fpackage.json',
      '/assets/.env',
      '/assets/index.html',
    ]) {
      const res = await s.app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('"name"');
    }
  });

  it('/api/v1/me names the key and its scopes; without a key 401', async () => {
    const me = await s.app.inject({ url: '/api/v1/me', headers: auth });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ tenant: 'default', scopes: ['admin', 'manage', 'infer'] });
    expect(me.body).not.toContain('test-admin-key');
    expect((await s.app.inject({ url: '/api/v1/me' })).statusCode).toBe(401);
  });

  it('/api/v1/families lists each family with the common and its own hyperparameters', async () => {
    const res = await s.app.inject({ url: '/api/v1/families', headers: auth });
    const families = res.json().families as {
      name: string;
      dataset_kinds: string[];
      hyperparameters: Record<string, { default: unknown }>;
    }[];
    expect(families.map((f) => f.name)).toEqual(expect.arrayContaining(['mlp', 'cnn', 'text-cnn']));
    const mlp = families.find((f) => f.name === 'mlp')!;
    expect(mlp.dataset_kinds).toEqual(['tabular']);
    expect(mlp.hyperparameters.epochs.default).toBe(5);
    expect(mlp.hyperparameters.hidden.default).toEqual([64, 64]);
  });
});
