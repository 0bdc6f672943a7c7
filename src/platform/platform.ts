/**
 * Composition root of the domain: opens the store, the artifact folder and (when configured)
 * Redis, builds the registry, the runner pool and the inference service from one frozen Config.
 * It only wires: nothing here claims jobs, queues or trains the zoo or deletes files; the process's role
 * starts that (src/platform/roles.ts). The API layer receives this object; tests build it the same
 * way with a temp data folder.
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../common/errors';
import { type Bus, LocalBus } from '../store/bus';
import { type LeaderLock, soleLeader } from '../store/leader';
import { openStore } from '../store/open';
import type { Store } from '../store/ports';
import { postgresLeaderLock } from '../store/postgres/leader';
import type { SharedRedis } from '../store/redis/index';
import { ArtifactStore, type SharedBlobs } from './artifacts/artifacts';
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
import { checkHealth, type Health } from './health';
import { MetricsRegistry, type PlatformMetrics, platformMetrics } from './metrics';
import { Registry } from './registry/registry';
import { expressLaneOn } from './serving/express-lane';
import { InferenceService } from './serving/inference';
import { RunnerPool, type SessionLoader } from './serving/pool';
import { TaskService } from './tasks/service';
import { type Clock, createTenancy, type Tenancy } from './tenancy/index';
import { DatasetService } from './training/datasets';
import { DescribePool } from './training/describe-pool';
import { jobView, TrainingService } from './training/service';
import { blobCheckpoints } from './training/shared-checkpoints';
import { WebhookService } from './webhooks/service';
import { trainingWebhookListener } from './webhooks/trainings';
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
  /** Signed webhook deliveries of predictions and batches (started by the server, not here). */
  webhooks: WebhookService;
  /** Large prediction outputs (images, audio), content-addressed like models. */
  outputs: ArtifactStore;
  /** The zoo's rows as jobs of the `zoo` tenant (a role that trains starts it) and their state. */
  zoo: ZooService;
  /** Messages between the deployment's processes (Redis pub/sub, or in-process). */
  bus: Bus;
  /** Who runs the once-per-deployment work (housekeeping sweeps). */
  leader: LeaderLock;
  /** Folder of artifacts, datasets and checkpoints: MAAS_BLOB_STORE's, else the data folder. */
  blobRoot: string;
  /** Database and Redis readiness (`/readyz`). */
  health(): Promise<Health>;
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
  /** Default: the store's own (an advisory lock on PostgreSQL); embedded, always this process. */
  leader?: LeaderLock;
}

/**
 * Where artifacts live: `file:///path` → `/path`; unset → the data folder; `postgres` → the data
 * folder holds this process's cache of the database's blobs (and training checkpoints).
 */
export function blobRootOf(config: Config): string {
  return config.blobStore === null || config.blobStore === 'postgres'
    ? config.dataDir
    : fileURLToPath(config.blobStore);
}

/** MAAS_BLOB_STORE=postgres: the database's blobs, the folder caching them within the budget. */
function sharedBlobsOf(config: Config, store: Store): SharedBlobs | undefined {
  if (config.blobStore !== 'postgres') return undefined;
  if (!store.blobs)
    return fail(
      'invalid_request',
      'config MAAS_BLOB_STORE: postgres needs the PostgreSQL store (MAAS_DATABASE_URL)',
    );
  return { blobs: store.blobs, cacheBytes: config.modelCacheBytes };
}

/** PostgreSQL (migrated under an advisory lock before it is used) when configured, else SQLite. */
async function openDefaultStore(config: Config): Promise<Store> {
  try {
    return await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      schema: config.databaseSchema ?? undefined,
    });
  } catch (e) {
    if (config.databaseUrl === null) throw e;
    // The driver's message may carry the host or user; say what failed, never the URL.
    const code = (e as { code?: string }).code;
    return fail(
      'invalid_request',
      `config MAAS_DATABASE_URL: cannot open the database${code ? ` (${code})` : ''}`,
    );
  }
}

export async function openPlatform(config: Config, deps: PlatformDeps = {}): Promise<Platform> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const blobRoot = blobRootOf(config);
  await mkdir(blobRoot, { recursive: true, mode: 0o700 });
  const store = deps.store ?? (await openDefaultStore(config));
  // ioredis is loaded only where Redis is configured: the embedded default starts without it.
  const redis: SharedRedis | null = config.redisUrl
    ? (await import('../store/redis/index')).openSharedRedis(
        { url: config.redisUrl, prefix: config.redisPrefix },
        deps.clock ?? { now: Date.now },
      )
    : null;
  const bus: Bus = redis?.bus ?? new LocalBus();
  const leader =
    deps.leader ??
    (config.databaseUrl === null
      ? soleLeader
      : postgresLeaderLock(config.databaseUrl, config.databaseSchema ?? undefined));
  const shared = sharedBlobsOf(config, store);
  const artifacts = await ArtifactStore.open(blobRoot, shared);
  const registry = new Registry(
    store,
    artifacts,
    {
      maxUploadBytes: config.maxUploadBytes,
      validation: { timeoutMs: config.validateTimeoutMs, memoryMb: config.validateMemoryMb },
    },
    // Several processes on one database without Redis would not hear each other's removals.
    { bus, cacheVersions: config.databaseUrl === null || redis !== null },
  );
  const metrics = platformMetrics(new MetricsRegistry(config.metricsMaxSeries));
  metrics.memory.collect(() => {
    const m = process.memoryUsage();
    return [
      [{ kind: 'rss' }, m.rss],
      [{ kind: 'heap_used' }, m.heapUsed],
      [{ kind: 'external' }, m.external],
      [{ kind: 'array_buffers' }, m.arrayBuffers],
    ];
  });
  const pool = new RunnerPool(
    {
      idleEvictMs: config.idleEvictMs,
      memoryBudgetBytes: config.memoryBudgetBytes,
      session: {
        intraOpThreads: config.intraOpThreads,
        interOpThreads: config.interOpThreads,
        fuseProjections: config.fuseProjections,
      },
      spinUs: config.intraOpSpinUs,
      expressLane: expressLaneOn(config.expressLane, availableParallelism(), config.intraOpThreads),
      defaults: {
        maxBatchSize: config.maxBatchSize,
        maxDelayMs: config.maxDelayMs,
        maxQueue: config.queueSize,
        maxNumSeqs: config.maxNumSeqs,
        maxBatchedTokens: config.maxBatchedTokens,
        scheduling: config.scheduling,
      },
    },
    metrics,
    deps.loadSession,
  );
  const inference = new InferenceService(registry, pool, config.requestTimeoutMs);
  const admin = await ensureAdminKey(config.dataDir, config.adminKey);
  const tenancy = createTenancy({
    stores: store.tenancy,
    pepper: await ensurePepper(config.dataDir, config.keyPepper),
    limiter: redis?.limiter,
    clock: deps.clock,
    usageFlushMs: config.usageFlushMs,
    bus,
    // As for versions: several processes on one database without Redis would not hear revocations.
    cacheKeys: config.databaseUrl === null || redis !== null,
  });
  // The bootstrap admin's tenant exists from the first start, so its models have an owner row.
  await tenancy.tenants.ensure(DEFAULT_TENANT);
  const datasets = new DatasetService(
    store,
    await ArtifactStore.open(join(blobRoot, 'datasets'), shared),
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
  const trainings = new TrainingService(
    store,
    datasets,
    registry,
    {
      concurrency: config.trainConcurrency,
      perTenantLimit: config.trainMaxPerTenant > 0 ? config.trainMaxPerTenant : undefined,
      leaseMs: config.trainLeaseMs,
      maxRetries: config.trainMaxRetries,
      retryBackoffMs: config.trainRetryBackoffMs,
      retryBackoffMaxMs: config.trainRetryBackoffMaxMs,
      pollMs: Math.min(1000, Math.max(50, Math.floor(config.trainLeaseMs / 4))),
      threads: config.trainThreads,
      // Checkpoints beside the artifacts: a worker resuming another's job finds them there (with
      // blobs in the database, each checkpoint is also stored there and fetched by the next worker).
      dir: join(blobRoot, 'training'),
      checkpoints: shared ? blobCheckpoints(artifacts, store.trainings) : undefined,
    },
    bus,
  );
  const zoo = new ZooService(
    { registry, tenancy, trainings: store.trainings },
    () => trainings.activeJobs(),
    {
      mode: config.zoo,
      dir: join(config.dataDir, 'zoo-training'),
      nice: config.zooNice,
      logEveryMs: 5000,
      pollMs: 1000,
      leaseMs: config.trainLeaseMs,
      maxRetries: config.trainMaxRetries,
    },
  );
  const webhooks = new WebhookService(store.workItems, {
    allowPrivate: config.webhookAllowPrivate,
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
  });
  // A training's events go to its webhook (if it has one) through the same deliveries.
  trainings.onEvent(trainingWebhookListener(store.workItems, store.trainings, webhooks, jobView));
  const outputs = await ArtifactStore.open(join(blobRoot, 'outputs'), shared);
  let closed: Promise<void> | null = null;
  return {
    config,
    store,
    artifacts,
    registry,
    pool,
    inference,
    tasks: new TaskService({ registry, inference, artifacts, requestTimeoutMs: config.requestTimeoutMs }),
    metrics,
    keys:
      deps.keys ??
      new ChainedKeyResolver([new AdminKeyResolver(admin.key), keyServiceResolver(tenancy.keys)]),
    tenancy,
    datasets,
    trainings,
    webhooks,
    outputs,
    zoo,
    bus,
    leader,
    blobRoot,
    health: () => checkHealth(store, redis ? () => redis.ping() : null),
    generatedAdminKey: admin.generated ? admin.key : null,
    close: () => {
      webhooks.stop();
      closed ??= zoo
        .close()
        .then(() => trainings.close())
        .then(() => datasets.close())
        .then(() => pool.close())
        .then(() => leader.release())
        .then(() => bus.close())
        .then(() => tenancy.meter.close())
        .then(() => redis?.close())
        .then(() => store.close());
      return closed;
    },
  };
}
