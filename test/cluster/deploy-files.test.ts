/**
 * The deployment examples run what the cluster test runs: the same `maas serve --role …`
 * commands and the same variables (test/cluster/helpers.ts `clusterEnv`), so a variable renamed or
 * added in one place fails here instead of in someone's deployment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSpec } from '../../src/platform/config';
import { REPO_ROOT } from '../helpers/serve';
import { clusterEnv, clusterSettings } from './helpers';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const names = (text: string) => new Set(text.match(/\bMAAS_[A-Z_]+(?==|:)/g) ?? []);

/** What the test sets for speed on a small machine (a production cluster keeps the defaults). */
const TEST_TUNING = [
  'MAAS_TRAIN_LEASE_MS',
  'MAAS_TRAIN_RETRY_BACKOFF_MS',
  'MAAS_TRAIN_THREADS',
  'MAAS_INTRA_OP_THREADS',
];
/** What spawnServe sets for every test process, and deployments set too. */
const PER_PROCESS = ['MAAS_ADMIN_KEY', 'MAAS_HOST', 'MAAS_ZOO'];

const clusterNames = Object.keys(clusterEnv(clusterSettings('/tmp'))).filter((n) => !TEST_TUNING.includes(n));

describe('deployment examples match the cluster test', () => {
  for (const file of ['deploy/systemd/maas.env', 'deploy/docker-compose.yml']) {
    it(`${file}: every cluster variable of the test, nothing unknown`, () => {
      const used = names(read(file));
      for (const n of clusterNames) expect(used, `${file} lacks ${n}`).toContain(n);
      const known = new Set(Object.values(configSpec).map((s) => s.env));
      for (const n of used) expect(known, `${file}: ${n} is not an option`).toContain(n);
      for (const n of used) expect([...clusterNames, ...PER_PROCESS], `${file}: ${n}`).toContain(n);
    });
  }

  it('commands are maas serve --role api|worker (after Node flags), as the test starts them', () => {
    const compose = read('deploy/docker-compose.yml');
    expect(compose.match(/serve, --role, api,/g)).toHaveLength(2);
    expect(compose.match(/serve, --role, worker,/g)).toHaveLength(2);
    expect(read('deploy/systemd/maas-api@.service')).toMatch(
      /ExecStart=\S+(?: --\S+)* bin\/maas\.js serve --role api /,
    );
    expect(read('deploy/systemd/maas-worker@.service')).toMatch(
      /ExecStart=\S+(?: --\S+)* bin\/maas\.js serve --role worker /,
    );
    const helpers = read('test/cluster/helpers.ts');
    expect(helpers).toContain("flags: ['--role', role]");
  });
});
