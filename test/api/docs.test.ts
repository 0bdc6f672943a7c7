/**
 * What a browser lands on, without a key: `/` is the web console (its files: web-console.test.ts),
 * `/docs` is the interactive reference served entirely by this server (no CDN), `/openapi.json`
 * the document it reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, testServer } from '../helpers/server';

describe('landing page and API reference', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  const get = (url: string) => s.app.inject({ url });

  it('GET / is the web console (or, unbuilt, a page of links), without a key', async () => {
    const res = await get('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const console = res.body.includes('<div id="root">');
    const links = console ? ['href="/assets/'] : ['href="/docs"', 'href="/openapi.json"', 'href="/healthz"'];
    for (const link of links) expect(res.body).toContain(link);
  });

  it('/docs loads only files this server serves, and each of them answers', async () => {
    const page = await get('/docs');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const refs = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs).toEqual(
      expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']),
    );
    for (const ref of refs) {
      expect(ref, 'no CDN: every file is local').toMatch(/^\/docs\//);
      const res = await get(ref);
      expect(res.statusCode, ref).toBe(200);
      expect(res.rawPayload.length, ref).toBeGreaterThan(100);
    }
    const init = await get('/docs/init.js');
    expect(init.body).toContain("url: '/openapi.json'");
    expect(init.body).not.toMatch(/https?:\/\//);
    expect((await get('/docs/swagger-ui-bundle.js')).body).toContain('SwaggerUIBundle');
  });

  it('/docs/:asset serves a fixed list, never a path', async () => {
    for (const bad of ['/docs/package.json', '/docs/..%2fpackage.json', '/docs/index.html', '/docs/x.js'])
      expect((await get(bad)).statusCode, bad).toBe(404);
  });

  it('/openapi.json is the document of every route, without a key', async () => {
    const res = await get('/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/models/{name}/predict', '/openapi.json']),
    );
    expect(doc.paths['/v1/chat/completions'].post['x-required-scope']).toBe('infer');
    expect(doc.paths['/openapi.json'].get.security).toEqual([]);
  });
});
