/**
 * A cluster on one machine for the multi-process tests: N `maas serve` processes (real processes,
 * real sockets) on one PostgreSQL schema and one Redis key prefix, both fresh per run, with a
 * shared blob folder (as a shared volume would be). The variables are exactly those of
 * docs/deploy.md, deploy/docker-compose.yml and deploy/systemd/.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { POSTGRES_TEST_URL } from '../helpers/postgres';
import { type ServeProcess, spawnServe } from '../helpers/serve';
import { TEST_REDIS_URL } from '../helpers/services';

export const CLUSTER_KEY = 'cluster-admin-key-0123456789';
export const clusterAuth = { authorization: `Bearer ${CLUSTER_KEY}` };

export interface ClusterSettings {
  /** Fresh per run: `maas_cluster_<hex>`. */
  schema: string;
  /** Fresh per run: `maas-cluster-<hex>:`. */
  redisPrefix: string;
  /** The shared folder of artifacts, datasets and checkpoints (`file`), or none (`postgres`). */
  blobDir: string;
  /** MAAS_BLOB_STORE: a shared folder, or chunks in the database (no shared folder at all). */
  blobStore: 'file' | 'postgres';
  /** Each process gets its own data folder under this one. */
  root: string;
}

export function clusterSettings(root: string, blobStore: 'file' | 'postgres' = 'file'): ClusterSettings {
  const run = randomBytes(4).toString('hex');
  return {
    schema: `maas_cluster_${run}`,
    redisPrefix: `maas-cluster-${run}:`,
    blobDir: join(root, 'blobs'),
    blobStore,
    root,
  };
}

/** The environment every process of the cluster shares. */
export function clusterEnv(s: ClusterSettings): Record<string, string> {
  return {
    MAAS_DATABASE_URL: POSTGRES_TEST_URL,
    MAAS_DATABASE_SCHEMA: s.schema,
    MAAS_REDIS_URL: TEST_REDIS_URL,
    MAAS_REDIS_PREFIX: s.redisPrefix,
    MAAS_BLOB_STORE: s.blobStore === 'postgres' ? 'postgres' : `file://${s.blobDir}`,
    MAAS_KEY_PEPPER: 'cluster-test-pepper-0123456789abcdef',
    // A dead worker's job is claimed by another after 1.5 s without heartbeats, retried at once.
    MAAS_TRAIN_LEASE_MS: '1500',
    MAAS_TRAIN_RETRY_BACKOFF_MS: '0',
    MAAS_TRAIN_THREADS: '1',
    MAAS_INTRA_OP_THREADS: '1',
  };
}

export function startMember(
  s: ClusterSettings,
  name: string,
  role: 'api' | 'worker',
  more: { zoo?: 'off' | 'quick'; env?: Record<string, string>; logLevel?: string } = {},
): Promise<ServeProcess> {
  return spawnServe({
    dataDir: join(s.root, name),
    adminKey: CLUSTER_KEY,
    flags: ['--role', role],
    zoo: more.zoo,
    logLevel: more.logLevel,
    env: { ...clusterEnv(s), ...more.env },
  });
}

/** Process ids of `pid`'s trainer children (not tsx's esbuild service, also a child). */
export function trainerPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('training/worker.ts'))
      .map((l) => Number.parseInt(l.trim(), 10));
  } catch {
    return []; // ps exits 1 when there is no child
  }
}

/** Poll `check` every `everyMs` until it returns a value, or throw after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | null | undefined>,
  ms: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
