#!/usr/bin/env -S node --max-semi-space-size=64
// Launcher for the `maas` command: runs the compiled CLI in dist/ (built by `npm run build`, which
// `npm ci` / `npm install` run through `prepare`). In a checkout that was never built it falls
// back to the TypeScript sources through tsx, which works but costs seconds at every start.
// --max-semi-space-size=64 (also in package.json's start script and deploy/): a larger V8 young
// generation, so the server's per-request garbage is collected in fewer pauses (docs/deploy.md).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/maas.js', import.meta.url);
if (existsSync(compiled)) await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
