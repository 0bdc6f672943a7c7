/**
 * How to start a worker thread on an entry file: compiled (dist/), the bundled entry itself; from
 * source, a bootstrap that registers tsx's loader inside the worker so it can import the
 * TypeScript file (as bin/maas.js does).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { compiled } from '../common/entry';

export function workerSource(entry: URL): { source: string | URL; eval: boolean } {
  if (compiled) return { source: entry, eval: false };
  const tsxApi = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const source = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return { source, eval: true };
}
