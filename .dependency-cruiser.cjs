// Layers of docs/architecture.md: a module may import only from layers below it.
// Order, top to bottom. `sdk` stands alone; `common` is the floor everyone may use.
const layers = ['cli', 'api', 'platform', 'store', 'models', 'data', 'nn', 'engine', 'common'];
const above = (i) => layers.slice(0, i);

const layerRules = layers.map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `${layer}/ may not import from a layer above it`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: above(i).length ? `^src/(${above(i).join('|')})/` : '^$' },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'sdk-stands-alone',
      severity: 'error',
      from: { path: '^src/sdk/' },
      to: { path: '^src/(?!sdk/)' },
    },
    {
      name: 'engine-only-through-its-index',
      comment:
        'outside src/engine/, use the engine through src/engine/index.ts (runtime/tensor alone is allowed too: it carries no native code)',
      severity: 'error',
      from: { path: '^src/(?!engine/)' },
      to: { path: '^src/engine/(?!index\\.ts$|runtime/tensor\\.ts$)' },
    },
    {
      name: 'only-engine-imports-onnxruntime',
      severity: 'error',
      from: { path: '^src/(?!engine/)' },
      to: { path: 'node_modules/onnxruntime-' },
    },
    {
      name: 'only-store-sqlite-imports-better-sqlite3',
      severity: 'error',
      from: { path: '^src/(?!store/sqlite/)' },
      to: { path: 'node_modules/better-sqlite3' },
    },
    {
      name: 'only-store-redis-imports-ioredis',
      severity: 'error',
      from: { path: '^src/(?!store/redis/)' },
      to: { path: 'node_modules/ioredis' },
    },
    {
      name: 'only-store-postgres-imports-pg',
      severity: 'error',
      from: { path: '^src/(?!store/postgres/)' },
      to: { path: 'node_modules/(pg|pg-[a-z-]+)/' },
    },
    {
      name: 'only-hf-tokenizer-imports-tokenizers',
      severity: 'error',
      from: { path: '^src/(?!models/hf/tokenizer\\.ts$)' },
      to: { path: 'node_modules/@huggingface/tokenizers' },
    },
    {
      name: 'only-hf-template-imports-jinja',
      severity: 'error',
      from: { path: '^src/(?!models/hf/template\\.ts$)' },
      to: { path: 'node_modules/@huggingface/jinja' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
