/**
 * The fuzzers, longer than CI runs them (docs/security.md, "Fuzzing"): hostile model files and
 * OpenAPI-driven requests against a real `maas serve` started in a temp folder.
 *
 *   npm run fuzz -- --seed 7 --count 5000            models (all uploaded) and the API
 *   npm run fuzz -- --seed 20261202 --only 85        one model case, as a failure named it
 *   npm run fuzz -- --models-only | --api-only
 *
 * Prints each model case before ORT loads it in this process (so a native crash names its case),
 * a JSON report per fuzzer, and exits 1 on any finding.
 */
import { parseArgs } from 'node:util';
import { runApiFuzz } from '../test/fuzz/api-fuzz';
import { runModelFuzz } from '../test/fuzz/model-fuzz';
import { caseOf, describeCase } from '../test/fuzz/model-mutations';
import { modelSources } from '../test/fuzz/model-sources';
import { spawnServe } from '../test/helpers/serve';
import { tempDir } from '../test/helpers/tmp';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    count: { type: 'string', default: '2000' },
    only: { type: 'string' },
    'upload-rate': { type: 'string', default: '1' },
    'models-only': { type: 'boolean', default: false },
    'api-only': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const count = Number(values.count);
const KEY = 'fuzz-admin-key-0123456789';

const tmp = await tempDir('maas-fuzz-');
const server = await spawnServe({ dataDir: tmp.dir, adminKey: KEY });
let findings = 0;
try {
  if (!values['api-only']) {
    const { models, skipped } = await modelSources();
    if (skipped) console.log(`skipped: ${skipped}`);
    const only = values.only === undefined ? null : Number(values.only);
    const started = Date.now();
    const report = await runModelFuzz({
      url: server.url,
      key: KEY,
      pid: server.child.pid!,
      sources: models,
      seed,
      count: only === null ? count : only + 1,
      uploadRate: Number(values['upload-rate']),
      maxRss: 2048 * 1024 * 1024,
      skip: only === null ? undefined : (index) => index !== only,
      onCase: (c) => process.stderr.write(`${describeCase(c)}\n`),
    });
    console.log(`models: ${JSON.stringify({ seed, ms: Date.now() - started, ...report }, null, 1)}`);
    findings += report.findings.length;
    if (only !== null) console.log(`case ${only}: ${describeCase(caseOf(models, seed, only))}`);
  }
  if (!values['models-only']) {
    const started = Date.now();
    const report = await runApiFuzz({
      url: server.url,
      key: KEY,
      seed,
      rounds: Math.max(1, Math.round(count / 500)),
    });
    console.log(`api: ${JSON.stringify({ seed, ms: Date.now() - started, ...report }, null, 1)}`);
    findings += report.findings.length;
  }
} finally {
  await server.stop();
  await tmp.remove();
}
process.exit(findings > 0 ? 1 : 0);
