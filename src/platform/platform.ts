/**
 * Composition root of the domain: opens the store and artifact folder, builds the registry, the
 * runner pool and the inference service from one frozen Config. The API layer receives this
 * object; tests build it the same way with a temp data folder.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/ports';
import { SqliteStore } from '../store/sqlite/store';
import { ArtifactStore } from './artifacts/artifacts';
import {
  AdminKeyResolver,
  ChainedKeyResolver,
  DEFAULT_TENANT,
  ensureAdminKey,
  ensurePepper,
  type KeyResolver,
  keyServiceResolver,
} from './auth/auth';
import type { Config } from './config';
import { MetricsRegistry, type PlatformMetrics, platformMetrics } from './metrics';
import { Registry } from './registry/registry';
import { InferenceService } from './serving/inference';
import { RunnerPool, type SessionLoader } from './serving/pool';
import { TaskService } from './tasks/service';
import { type Clock, createTenancy, type Tenancy } from './tenancy/index';
import { DatasetService } from './training/datasets';
import { DescribePool } from './training/describe-pool';
import { TrainingService } from './training/service';
import { ZooService } from './zoo-training/service';

export interface Platform {
  config: Config;
  store: Store;
  artifacts: ArtifactStore;
  registry: Registry;
  pool: RunnerPool;
  inference: InferenceService;
  /** Task runtimes (generate, embed, imagine, classify, speak) over `inference`. */
  tasks: TaskService;
  metrics: PlatformMetrics;
  keys: KeyResolver;
  /** Tenants, keys, limits, quotas, usage, audit, idempotency over the store's tenancy ports. */
  tenancy: Tenancy;
  datasets: DatasetService;
  trainings: TrainingService;
  /** The zoo's background training (`maas serve` starts it; idle otherwise). */
  zoo: ZooService;
  /** Set only on the start that generated the admin key (print it once). */
  generatedAdminKey: string | null;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface PlatformDeps {
  store?: Store;
  keys?: KeyResolver;
  loadSession?: SessionLoader;
  /** Time source of limits, usage and audit (tests step it). */
  clock?: Clock;
}

export async function openPlatform(config: Config, deps: PlatformDeps = {}): Promise<Platform> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const store = deps.store ?? SqliteStore.open({ path: join(config.dataDir, 'maas.db') });
  const artifacts = await ArtifactStore.open(config.dataDir);
  const registry = new Registry(store, artifacts, {
    maxUploadBytes: config.maxUploadBytes,
    validation: { timeoutMs: config.validateTimeoutMs, memoryMb: config.validateMemoryMb },
  });
  await registry.collectOrphans();
  const metrics = platformMetrics(new MetricsRegistry(config.metricsMaxSeries));
  metrics.memory.collect(() => {
    const m = process.memoryUsage();
    return [
      [{ kind: 'rss' }, m.rss],
      [{ kind: 'heap_used' }, m.heapUsed],
      [{ kind: 'external' }, m.external],
    ];
  });
  const pool = new RunnerPool(
    {
      idleEvictMs: config.idleEvictMs,
      memoryBudgetBytes: config.memoryBudgetBytes,
      session: { intraOpThreads: config.intraOpThreads, interOpThreads: config.interOpThreads },
      defaults: {
        maxBatchSize: config.maxBatchSize,
        maxDelayMs: config.maxDelayMs,
        maxQueue: config.queueSize,
      },
    },
    metrics,
    deps.loadSession,
  );
  const inference = new InferenceService(registry, pool, config.requestTimeoutMs);
  const admin = await ensureAdminKey(config.dataDir, config.adminKey);
  const tenancy = createTenancy({
    stores: store.tenancy,
    pepper: await ensurePepper(config.dataDir, null),
    clock: deps.clock,
  });
  // The bootstrap admin's tenant exists from the first start, so its models have an owner row.
  await tenancy.tenants.ensure(DEFAULT_TENANT);
  const datasets = new DatasetService(
    store,
    await ArtifactStore.open(join(config.dataDir, 'datasets')),
    config.maxDatasetBytes,
    new DescribePool({
      memoryMb: config.datasetParseMemoryMb,
      timeoutMs: config.datasetParseTimeoutMs,
      maxWorkers: 2,
      idleMs: 60_000,
    }),
    {
      maxInflateRatio: config.maxInflateRatio,
      maxFieldBytes: config.maxFieldBytes,
      maxLineBytes: config.maxLineBytes,
      maxImagePixels: config.maxImagePixels,
      maxArchiveEntries: config.maxArchiveEntries,
      maxArchiveEntryBytes: config.maxArchiveEntryBytes,
    },
  );
  await datasets.collectOrphans();
  const trainings = new TrainingService(store, datasets, registry, {
    concurrency: config.trainConcurrency,
    leaseMs: config.trainLeaseMs,
    maxRetries: config.trainMaxRetries,
    retryBackoffMs: config.trainRetryBackoffMs,
    retryBackoffMaxMs: config.trainRetryBackoffMaxMs,
    pollMs: Math.min(1000, Math.max(50, Math.floor(config.trainLeaseMs / 4))),
    threads: config.trainThreads,
    dir: join(config.dataDir, 'training'),
  });
  trainings.start();
  const zoo = new ZooService({ registry, tenancy }, () => trainings.activeJobs(), {
    mode: config.zoo,
    dir: join(config.dataDir, 'zoo-training'),
    nice: config.zooNice,
    logEveryMs: 5000,
    pollMs: 1000,
  });
  let closed: Promise<void> | null = null;
  return {
    config,
    store,
    artifacts,
    registry,
    pool,
    inference,
    tasks: new TaskService({ registry, inference, artifacts }),
    metrics,
    keys:
      deps.keys ??
      new ChainedKeyResolver([new AdminKeyResolver(admin.key), keyServiceResolver(tenancy.keys)]),
    tenancy,
    datasets,
    trainings,
    zoo,
    generatedAdminKey: admin.generated ? admin.key : null,
    close: () => {
      closed ??= zoo
        .close()
        .then(() => trainings.close())
        .then(() => datasets.close())
        .then(() => pool.close())
        .then(() => store.close());
      return closed;
    },
  };
}
