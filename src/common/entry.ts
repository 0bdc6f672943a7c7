/**
 * Where a child process or worker thread entry lives, in both ways maas runs:
 *
 * - compiled (`npm start`, `bin/maas.js`): `scripts/build.mjs` bundles every entry into `dist/`
 *   as one flat folder of `.js` files (`dist/training-worker.js`, …, shared code in
 *   `dist/chunk-*.js`), and defines `MAAS_COMPILED`; so any code, in any chunk, finds an entry
 *   next to itself and starts it with plain `node`.
 * - from source (`npm run dev`, vitest, tsx): the entry is the `.ts` file next to the caller, and a
 *   child process needs `--import tsx` to run it.
 */

/** Set to `true` by the build (esbuild `define`); undefined when running the TypeScript sources. */
declare const MAAS_COMPILED: boolean | undefined;

export const compiled = typeof MAAS_COMPILED !== 'undefined' && MAAS_COMPILED === true;

/** Names of the entries the build writes into `dist/` (see scripts/build.mjs). */
export type EntryName =
  | 'training-worker'
  | 'zoo-worker'
  | 'validate-worker'
  | 'session-thread'
  | 'describe-worker'
  | 'quantize-worker'
  | 'json-worker';

/**
 * The file to start: `dist/<name>.js` when compiled, else `source` (a URL made by the caller with
 * `new URL('./worker.ts', import.meta.url)`, so it stays right next to the caller).
 */
export function entryUrl(name: EntryName, source: URL): URL {
  return compiled ? new URL(`./${name}.js`, import.meta.url) : source;
}

/** `node` arguments that run an entry: `--import tsx` only when running the sources. */
export function nodeArgs(entry: string): string[] {
  return compiled ? [entry] : ['--import', 'tsx', entry];
}

/** The checkout (or installed package) folder: `dist/..` compiled, `src/common/../..` from source. */
export const packageRoot: URL = new URL(compiled ? '../' : '../../', import.meta.url);
