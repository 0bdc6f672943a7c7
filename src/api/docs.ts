/**
 * The pages a browser lands on, all without a key:
 *
 *   GET /                 the web console (web-console.ts), or a small page of links without it
 *   GET /docs             the interactive API reference (Swagger UI, served from the
 *                         swagger-ui-dist package: no CDN, works offline)
 *   GET /docs/:asset      that page's script and style sheet (a fixed list, never a path)
 *   GET /openapi.json     the OpenAPI 3.1 document, generated from the route table
 *
 * Why no key: the document describes the routes and their scopes, which the source code
 * publishes anyway; it holds no tenant's data. Every call made from the reference page still
 * needs a key (its Authorize button takes one).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fail } from '../common/errors';
import { SERVER_VERSION } from './common';
import { openApi } from './ops';
import type { RouteSpec } from './route';
import { consoleRoutes } from './web-console';

const base = { surface: 'ops' as const, body: 'none' as const, owned: null, access: 'public' as const };

/** The reference page's files: URL name → file in swagger-ui-dist, with its content type. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
};

/** Read once, then served from memory (≈ 1.5 MB in all). */
const assetCache = new Map<string, Promise<Buffer>>();

function assetBytes(name: string): Promise<Buffer> {
  let bytes = assetCache.get(name);
  if (!bytes) {
    const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    bytes = readFile(join(dir, ASSETS[name].file));
    assetCache.set(name, bytes);
  }
  return bytes;
}

/**
 * Starts Swagger UI on /openapi.json. A file of its own rather than an inline script, so a
 * Content-Security-Policy of `script-src 'self'` allows it. No validator badge: it would call
 * an outside service.
 */
const INIT_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
`;

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>maas API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const HOME_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>maas</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; }
li { margin: .3rem 0; }
</style>
</head>
<body>
<h1>maas ${SERVER_VERSION}</h1>
<p>Model-as-a-Service: deploy, train and use ONNX models over HTTP.</p>
<ul>
<li>The web console is not built in this checkout: <code>npm run build</code> makes it</li>
<li><a href="/docs">API reference</a>: every route, tried from the browser (Authorize with your key first)</li>
<li><a href="/openapi.json">OpenAPI document</a> (<code>/openapi.json</code>)</li>
<li><a href="/healthz">/healthz</a> and <a href="/readyz">/readyz</a>: liveness and readiness</li>
<li><code>/metrics</code>: Prometheus metrics (needs a key unless <code>MAAS_METRICS_PUBLIC</code> is set)</li>
<li><code>/v1/models</code>, <code>/api/v1/models</code>, <code>/v2</code>: the OpenAI-compatible, native and KServe v2 APIs</li>
</ul>
<p>Every call but these pages needs a key: <code>Authorization: Bearer &lt;key&gt;</code>. The admin key is
printed once at the first start and saved in the data folder (<code>data/admin.key</code>);
<code>maas keys create NAME --scopes infer</code> makes more.</p>
<pre><code>curl -H "Authorization: Bearer $MAAS_KEY" http://127.0.0.1:8080/v1/models</code></pre>
</body>
</html>
`;

export const docsRoutes: RouteSpec[] = [
  ...consoleRoutes(HOME_HTML),
  {
    ...base,
    method: 'GET',
    path: '/docs',
    summary: 'Interactive API reference (Swagger UI, served locally) for /openapi.json',
    handler: (ctx) => ctx.reply.type('text/html; charset=utf-8').send(DOCS_HTML),
  },
  {
    ...base,
    method: 'GET',
    path: '/docs/:asset',
    summary: "The API reference page's script, style sheet and icon",
    handler: async (ctx) => {
      const name = ctx.params.asset;
      if (name === 'init.js') return ctx.reply.type('text/javascript; charset=utf-8').send(INIT_JS);
      if (!Object.hasOwn(ASSETS, name)) fail('not_found', `no such file: /docs/${name.slice(0, 60)}`);
      const bytes = await assetBytes(name);
      return ctx.reply.type(ASSETS[name].type).header('cache-control', 'public, max-age=86400').send(bytes);
    },
  },
  {
    ...base,
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document (no key: it describes routes, holds no data)',
    handler: (ctx) => openApi(ctx.routes),
  },
];
