/**
 * The web console: the single-page app built from web/ (scripts/build.mjs → dist/web/), served
 * without a key at `/` and `/assets/:file`. The page itself holds no data; every call it makes
 * carries the key the person signed in with.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles and fonts only from this
 * origin (no inline script, no CDN), images also as data:/blob: URLs (heat maps and generated
 * PNGs arrive as base64), no frames, no plugins. Without a built console (a checkout where the
 * web build did not run) `/` falls back to the plain page of links.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { packageRoot } from '../common/entry';
import { fail } from '../common/errors';
import type { RouteContext, RouteSpec } from './route';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Built file names only (`index-AbC123.js`): never a path, never a dot file. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,120}$/;

const webRoot = new URL('dist/web/', packageRoot);
/**
 * Read once, then from memory (the bundle is a few hundred KB). Only files that exist are kept:
 * the asset route needs no key, so caching misses would let anyone grow this map without bound.
 */
const cache = new Map<string, Promise<Buffer>>();

async function webFile(relative: string): Promise<Buffer | null> {
  let bytes = cache.get(relative);
  if (!bytes) {
    bytes = readFile(new URL(relative, webRoot));
    cache.set(relative, bytes);
  }
  return bytes.catch(() => {
    cache.delete(relative);
    return null;
  });
}

function secured(ctx: RouteContext, type: string) {
  return ctx.reply
    .type(type)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/** `/`: the console's page, or `fallback` (the links page) when the console was not built. */
export function consoleRoutes(fallback: string): RouteSpec[] {
  const base = { surface: 'ops' as const, body: 'none' as const, owned: null, access: 'public' as const };
  return [
    {
      ...base,
      method: 'GET',
      path: '/',
      summary: 'The web console (sign in with a key); a page of links when the console is not built',
      handler: async (ctx) => {
        const page = await webFile('index.html');
        return secured(ctx, 'text/html; charset=utf-8')
          .header('cache-control', 'no-cache')
          .send(page ?? fallback);
      },
    },
    {
      ...base,
      method: 'GET',
      path: '/assets/:file',
      summary: "The web console's scripts, style sheets and icons (built file names)",
      handler: async (ctx) => {
        const name = ctx.params.file;
        const type = TYPES[extname(name)];
        const bytes = ASSET_NAME.test(name) && type ? await webFile(`assets/${name}`) : null;
        if (!bytes) fail('not_found', `no such file: /assets/${name.slice(0, 60)}`);
        // Names carry a content hash: a changed file is a new name.
        return secured(ctx, type).header('cache-control', 'public, max-age=31536000, immutable').send(bytes);
      },
    },
  ];
}
