#!/usr/bin/env node
// Launcher for the `maas` command: runs the compiled CLI in dist/ (built by `npm run build`, which
// `npm ci` / `npm install` run through `prepare`). In a checkout that was never built it falls
// back to the TypeScript sources through tsx, which works but costs seconds at every start.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/maas.js', import.meta.url);
if (existsSync(compiled)) await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
