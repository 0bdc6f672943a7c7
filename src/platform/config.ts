/**
 * Server configuration: one table of options, each with its environment variable, CLI flag,
 * parser and documented default. Read once at start-up (flags win over env, env over defaults),
 * validated, then frozen. Secrets are redacted whenever the config is shown.
 */
import { fail } from '../common/errors';
import { didYouMean } from '../common/suggest';
import { limitOptions } from './config-limits';
import {
  autoOrInt,
  bool,
  int,
  MiB,
  type OptionSpec,
  oneOf,
  optionalSecret,
  type Parser,
  text,
} from './config-parsers';
import { predictionOptions } from './config-predictions';
import { EXPRESS_LANE_MODES, type ExpressLaneMode } from './serving/express-lane';
import { SCHEDULINGS, type Scheduling } from './serving/run-queue';
import type { SpinSetting } from './serving/spin-policy';

/** What `maas serve` does about zoo models that are not installed (see src/platform/zoo-training/). */
export const ZOO_MODES = ['auto', 'off', 'quick'] as const;
export type ZooMode = (typeof ZOO_MODES)[number];
const zooMode = oneOf(ZOO_MODES);

/** What one process does (see src/platform/roles.ts): `api` serves HTTP only, `worker` trains only. */
export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];
const role = oneOf(ROLES);

/** A URL whose scheme is one of `schemes` (the password in it makes the option a secret). */
const urlOf =
  (schemes: readonly string[]): Parser<string | null> =>
  (raw, key) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return fail('invalid_request', `config ${key}: not a URL (expected ${schemes[0]}//host:port/...)`);
    }
    if (!schemes.includes(url.protocol))
      fail(
        'invalid_request',
        `config ${key}: the scheme must be ${schemes.join(' or ')}, not ${url.protocol}`,
      );
    return raw;
  };

/**
 * Where artifacts live: `file:///absolute/path` (a folder, possibly a shared volume), or `postgres`
 * (content-addressed chunks in MAAS_DATABASE_URL's database; each process keeps a local cache).
 * Unset: the data folder.
 */
const blobStore: Parser<string | null> = (raw, key) => {
  if (raw !== 'postgres' && !raw.startsWith('file:///'))
    fail(
      'invalid_request',
      `config ${key}: expected file:///absolute/path or postgres, not ${JSON.stringify(raw)}`,
    );
  return raw;
};

const pepper: Parser<string | null> = (raw, key) => {
  if (raw.length < 32) fail('invalid_request', `config ${key}: the pepper needs at least 32 characters`);
  return raw;
};

/** How the server log is written: `auto` picks `pretty` on a terminal, `json` otherwise. */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
const logFormat = oneOf(LOG_FORMATS);

/** Every option, in the order docs/configuration.md's table shows them. */
export const configSpec = {
  host: {
    env: 'MAAS_HOST',
    flag: '--host',
    default: '127.0.0.1',
    parse: text,
    doc: 'Interface to listen on',
  },
  port: {
    env: 'MAAS_PORT',
    flag: '--port',
    default: 8080,
    parse: int(0, 65535),
    doc: 'TCP port (0 = any free)',
  },
  dataDir: {
    env: 'MAAS_DATA_DIR',
    flag: '--data-dir',
    default: './data',
    parse: text,
    doc: 'Folder for the database, artifacts and the generated admin key',
  },
  adminKey: {
    env: 'MAAS_ADMIN_KEY',
    flag: '--admin-key',
    default: null,
    parse: optionalSecret,
    secret: true,
    doc: 'Bootstrap admin key (≥ 16 chars); without it one is generated on first start and saved (0600)',
  },
  maxUploadBytes: {
    env: 'MAAS_MAX_UPLOAD_BYTES',
    flag: '--max-upload-bytes',
    default: 512 * MiB,
    parse: int(1, 2 ** 40),
    doc: 'Largest model file accepted (bytes)',
  },
  maxJsonBytes: {
    env: 'MAAS_MAX_JSON_BYTES',
    flag: '--max-json-bytes',
    default: 32 * MiB,
    parse: int(1, 2 ** 31),
    doc: 'Largest JSON body of a data route: /v2 infer, predict, predictions, classify, explain (bytes; other routes have MAAS_MAX_TEXT_JSON_BYTES and MAAS_MAX_CONTROL_JSON_BYTES)',
  },
  queueSize: {
    env: 'MAAS_QUEUE_SIZE',
    flag: '--queue-size',
    default: 128,
    parse: int(1, 1_000_000),
    doc: 'Default requests waiting per model before 429 (a model can set its own `max_queue`); per tenant when MAAS_SCHEDULING is fair, so a flooding tenant fills only its own share',
  },
  scheduling: {
    env: 'MAAS_SCHEDULING',
    flag: '--scheduling',
    default: 'fair' as Scheduling,
    parse: oneOf(SCHEDULINGS),
    doc: "Who a busy model serves next: `fair` (interactive before batch, weighted round-robin across tenants by `limits.weight`, FIFO within a tenant, each tenant's `limits.concurrency` at most in one run) or `fifo` (arrival order, one queue bound for all)",
  },
  expressLane: {
    env: 'MAAS_EXPRESS_LANE',
    flag: '--express-lane',
    default: 'auto' as ExpressLaneMode,
    parse: oneOf(EXPRESS_LANE_MODES),
    doc: "Under fair scheduling, a second session of a model (its memory twice, one thread) that runs a light tenant's request at once beside a flooder's full batch: `on`, `off` (runs shrink while tenants compete instead), or `auto` (on where the machine has at least MAAS_INTRA_OP_THREADS + 2 cores: on a 2-core machine it measured worse)",
  },
  requestTimeoutMs: {
    env: 'MAAS_REQUEST_TIMEOUT_MS',
    flag: '--request-timeout-ms',
    default: 30_000,
    parse: int(1, 3_600_000),
    doc: 'Deadline of one inference request, queueing included (ms); a request may ask for less',
  },
  usageFlushMs: {
    env: 'MAAS_USAGE_FLUSH_MS',
    flag: '--usage-flush-ms',
    default: 100,
    parse: int(1, 3_600_000),
    doc: 'Usage records are buffered and written in one batch this often (ms), or at 256 records; shutdown writes the rest',
  },
  maxBatchSize: {
    env: 'MAAS_MAX_BATCH_SIZE',
    flag: '--max-batch-size',
    default: 16,
    parse: int(1, 65_536),
    doc: 'Default `max_batch_size` for models with a dynamic batch dimension',
  },
  maxNumSeqs: {
    env: 'MAAS_MAX_NUM_SEQS',
    flag: '--max-num-seqs',
    default: 16,
    parse: int(1, 1024),
    doc: 'Default `max_num_seqs`: decoder sequences of one model stepping together in one run (continuous batching); more wait for a slot, admitted round-robin across tenants. 1: no batching',
  },
  maxBatchedTokens: {
    env: 'MAAS_MAX_BATCHED_TOKENS',
    flag: '--max-batched-tokens',
    default: 256,
    parse: int(16, 65_536),
    doc: 'Default `max_batched_tokens`: the most prompt tokens one prefill run of a decoder takes; a longer prompt is prefilled in chunks between decode steps',
  },
  maxDelayMs: {
    env: 'MAAS_MAX_DELAY_MS',
    flag: '--max-delay-ms',
    default: 0,
    parse: int(0, 10_000),
    doc: 'Default `max_delay_ms`: how long a batch may wait to fill (ms). 0: no waiting; requests that arrive while a run is in progress still form the next batch',
  },
  idleEvictMs: {
    env: 'MAAS_IDLE_EVICT_MS',
    flag: '--idle-evict-ms',
    default: 300_000,
    parse: int(1, 86_400_000),
    doc: 'Unload a model after this long without requests (ms)',
  },
  memoryBudgetBytes: {
    env: 'MAAS_MEMORY_BUDGET_BYTES',
    flag: '--memory-budget-bytes',
    default: 4096 * MiB,
    parse: int(1, 2 ** 48),
    doc: 'Estimated memory of loaded models before least-recently-used ones are unloaded (bytes)',
  },
  intraOpThreads: {
    env: 'MAAS_INTRA_OP_THREADS',
    flag: '--intra-op-threads',
    default: 2,
    parse: int(1, 256),
    doc: 'ONNX Runtime threads inside one op (2 suits a 2-core machine)',
  },
  interOpThreads: {
    env: 'MAAS_INTER_OP_THREADS',
    flag: '--inter-op-threads',
    default: 1,
    parse: int(1, 256),
    doc: 'ONNX Runtime threads across independent ops',
  },
  intraOpSpinUs: {
    env: 'MAAS_INTRA_OP_SPIN_US',
    flag: '--intra-op-spin-us',
    default: 'auto' as SpinSetting,
    parse: autoOrInt(0, 1_000_000),
    doc: "How long (µs) a served model's idle ONNX Runtime intra-op threads busy-wait for the next op before they sleep, only while a run is in progress (never between runs). `auto`: decoder LLMs (a graph with a KV cache) 50 µs, where a decode step's hundreds of small ops each wait for a woken thread otherwise (10–15 % faster single-stream decode on 2 idle cores, the same CPU per token), every other model 0 (the API thread needs the spare core: a batched CNN lost ≈ 5 % with spinning). A number: that for every served model; 0: threads sleep at once (docs/llm.md)",
  },
  fuseProjections: {
    env: 'MAAS_FUSE_PROJECTIONS',
    flag: '--fuse-projections',
    default: true,
    parse: bool,
    doc: 'When loading a model to serve, fuse MatMuls that share an input (q/k/v, gate/up) into one MatMul + Split; the stored file is unchanged. false: serve the graph as stored',
  },
  validateTimeoutMs: {
    env: 'MAAS_VALIDATE_TIMEOUT_MS',
    flag: '--validate-timeout-ms',
    default: 60_000,
    parse: int(100, 3_600_000),
    doc: 'Time a new model file may take to load in the checking child process (ms)',
  },
  validateMemoryMb: {
    env: 'MAAS_VALIDATE_MEMORY_MB',
    flag: '--validate-memory-mb',
    default: 1024,
    parse: int(64, 1_048_576),
    doc: 'JS heap limit of the checking child process (MiB)',
  },
  shutdownGraceMs: {
    env: 'MAAS_SHUTDOWN_GRACE_MS',
    flag: '--shutdown-grace-ms',
    default: 0,
    parse: int(0, 600_000),
    doc: 'On SIGTERM, answer /readyz 503 this long before refusing new connections (ms)',
  },
  drainTimeoutMs: {
    env: 'MAAS_DRAIN_TIMEOUT_MS',
    flag: '--drain-timeout-ms',
    default: 30_000,
    parse: int(0, 3_600_000),
    doc: 'Longest wait for in-flight requests on shutdown (ms)',
  },
  metricsPublic: {
    env: 'MAAS_METRICS_PUBLIC',
    flag: '--metrics-public',
    default: false,
    parse: bool,
    doc: 'Serve /metrics without a key',
  },
  logLevel: {
    env: 'MAAS_LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    parse: (raw, key) =>
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw)
        ? raw
        : fail('invalid_request', `config ${key}: unknown log level ${JSON.stringify(raw)}`),
    doc: 'fatal, error, warn, info, debug, trace or silent',
  },
  logFormat: {
    env: 'MAAS_LOG_FORMAT',
    flag: '--log-format',
    default: 'auto' as LogFormat,
    parse: logFormat,
    doc: 'auto (readable lines on a terminal, JSON lines otherwise), pretty or json',
  },
  maxDatasetBytes: {
    env: 'MAAS_MAX_DATASET_BYTES',
    flag: '--max-dataset-bytes',
    default: 1024 * MiB,
    parse: int(1, 2 ** 40),
    doc: 'Largest dataset upload accepted (bytes)',
  },
  trainConcurrency: {
    env: 'MAAS_TRAIN_CONCURRENCY',
    flag: '--train-concurrency',
    default: 1,
    parse: int(1, 64),
    doc: 'Training jobs running at once (each in its own child process); others wait queued',
  },
  trainMaxPerTenant: {
    env: 'MAAS_TRAIN_MAX_PER_TENANT',
    flag: '--train-max-per-tenant',
    default: 0,
    parse: int(0, 10_000),
    doc: 'Training jobs one tenant may have running at once across all workers (0: no cap); the queue takes tenants in turn either way',
  },
  trainLeaseMs: {
    env: 'MAAS_TRAIN_LEASE_MS',
    flag: '--train-lease-ms',
    default: 10_000,
    parse: int(100, 3_600_000),
    doc: 'A running job is resumed elsewhere when its server misses heartbeats this long (ms)',
  },
  trainMaxRetries: {
    env: 'MAAS_TRAIN_MAX_RETRIES',
    flag: '--train-max-retries',
    default: 2,
    parse: int(0, 100),
    doc: 'Times a job whose trainer process crashed (killed, out of memory) is retried from its last checkpoint before it fails',
  },
  trainRetryBackoffMs: {
    env: 'MAAS_TRAIN_RETRY_BACKOFF_MS',
    flag: '--train-retry-backoff-ms',
    default: 1000,
    parse: int(0, 3_600_000),
    doc: 'Wait before the first retry of a crashed trainer (ms); each further retry waits twice as long (with jitter: a random 50–100 % of it), up to MAAS_TRAIN_RETRY_BACKOFF_MAX_MS. 0 retries at once',
  },
  trainRetryBackoffMaxMs: {
    env: 'MAAS_TRAIN_RETRY_BACKOFF_MAX_MS',
    flag: '--train-retry-backoff-max-ms',
    default: 60_000,
    parse: int(0, 86_400_000),
    doc: 'Longest wait between two retries of a crashed trainer (ms)',
  },
  trainThreads: {
    env: 'MAAS_TRAIN_THREADS',
    flag: '--train-threads',
    default: 2,
    parse: int(1, 256),
    doc: 'ONNX Runtime threads per training job',
  },
  zoo: {
    env: 'MAAS_ZOO',
    flag: '--zoo',
    default: 'auto' as ZooMode,
    parse: zooMode,
    doc: 'Zoo models missing at start: `auto` trains them at full size in the background (niced child process, one at a time); `quick` trains tiny versions in seconds (demos, tests); `off` never trains',
  },
  zooNice: {
    env: 'MAAS_ZOO_NICE',
    flag: '--zoo-nice',
    default: 10,
    parse: int(0, 19),
    doc: 'CPU priority of the zoo trainer (nice, 0 normal … 19 lowest): 10 gives it about a tenth of a core against busy API or user training work, all idle cores otherwise',
  },
  role: {
    env: 'MAAS_ROLE',
    flag: '--role',
    default: 'all' as Role,
    parse: role,
    doc: '`all` serves HTTP and trains (the embedded default); `api` serves HTTP and never trains; `worker` claims training and zoo jobs and serves no HTTP API (only /healthz and /readyz)',
  },
  databaseUrl: {
    env: 'MAAS_DATABASE_URL',
    flag: '--database-url',
    default: null,
    parse: urlOf(['postgres:', 'postgresql:']),
    secret: true,
    doc: 'PostgreSQL shared by every process of a cluster (postgres://user@host:5432/db); unset: embedded SQLite in the data folder',
  },
  databaseSchema: {
    env: 'MAAS_DATABASE_SCHEMA',
    flag: '--database-schema',
    default: null,
    parse: (raw, key) =>
      /^[a-z_][a-z0-9_]{0,62}$/.test(raw)
        ? raw
        : fail('invalid_request', `config ${key}: lower-case letters, digits and _ only (at most 63)`),
    doc: 'PostgreSQL schema holding maas’s tables (created and migrated at start); unset: the server’s current schema (usually public)',
  },
  redisUrl: {
    env: 'MAAS_REDIS_URL',
    flag: '--redis-url',
    default: null,
    parse: urlOf(['redis:', 'rediss:']),
    secret: true,
    doc: 'Redis for rate limits shared by every API process and for events between processes (redis://host:6379); unset: in-process',
  },
  redisPrefix: {
    env: 'MAAS_REDIS_PREFIX',
    flag: '--redis-prefix',
    default: 'maas:',
    parse: text,
    doc: 'Prefix of every Redis key and channel (several clusters may share one Redis)',
  },
  blobStore: {
    env: 'MAAS_BLOB_STORE',
    flag: '--blob-store',
    default: null,
    parse: blobStore,
    doc: 'Artifacts (model files, datasets, checkpoints): `file:///path`, a folder every process of a cluster shares (e.g. an NFS volume), or `postgres`, content-addressed chunks in MAAS_DATABASE_URL’s database, checkpoints included (each process caches the files it serves, see MAAS_MODEL_CACHE_BYTES); unset: the data folder',
  },
  modelCacheBytes: {
    env: 'MAAS_MODEL_CACHE_BYTES',
    flag: '--model-cache-bytes',
    default: 4096 * MiB,
    parse: int(MiB, 2 ** 48),
    doc: 'With MAAS_BLOB_STORE=postgres: disk each process uses for its local copies of model and dataset files, least recently used ones deleted first (bytes; a file in use is kept even past it)',
  },
  keyPepper: {
    env: 'MAAS_KEY_PEPPER',
    flag: '--key-pepper',
    default: null,
    parse: pepper,
    secret: true,
    doc: 'Server secret mixed into API key hashes (≥ 32 chars), the same on every process; required with MAAS_DATABASE_URL. Unset: generated once in the data folder',
  },
  sweepGraceMs: {
    env: 'MAAS_SWEEP_GRACE_MS',
    flag: '--sweep-grace-ms',
    default: 600_000,
    parse: int(0, 30 * 86_400_000),
    doc: 'Housekeeping (orphan artifacts, stale temp files) removes only files older than this (ms), so another process’s upload in progress is never touched',
  },
  ...limitOptions,
  ...predictionOptions,
} satisfies Record<string, OptionSpec<unknown>>;

type Spec = typeof configSpec;
export type Config = Readonly<{
  [K in keyof Spec]: Spec[K]['default'] extends null ? string | null : Spec[K]['default'];
}>;
export type ConfigKey = keyof Spec;

/**
 * Build the config from flags (`{'--port': '9000'}`), then env, then defaults. Unknown flags and
 * invalid values throw `invalid_request` naming the option. The result is frozen.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  flags: Record<string, string> = {},
  overrides: Partial<Record<ConfigKey, unknown>> = {},
): Config {
  const known = new Set(Object.values(configSpec).map((s) => s.flag));
  for (const flag of Object.keys(flags)) {
    if (!known.has(flag)) {
      const hint = didYouMean(flag, known, '');
      fail(
        'invalid_request',
        `unknown option ${flag}${hint ? ` (${hint})` : ''}; maas serve --help lists them`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(configSpec) as [ConfigKey, OptionSpec<unknown>][]) {
    const raw = flags[spec.flag] ?? env[spec.env];
    out[key] =
      key in overrides
        ? overrides[key]
        : raw === undefined || raw === ''
          ? spec.default
          : spec.parse(raw, spec.env);
  }
  checkTogether(out as Config);
  return Object.freeze(out) as Config;
}

/** Rules between options: a shared database needs a shared pepper; blobs in it need it. */
function checkTogether(c: Config): void {
  if (c.blobStore === 'postgres' && c.databaseUrl === null)
    fail(
      'invalid_request',
      'config MAAS_BLOB_STORE: postgres keeps artifacts in the database of MAAS_DATABASE_URL, which is not set',
    );
  if (c.databaseUrl !== null && c.keyPepper === null)
    fail(
      'invalid_request',
      'config MAAS_KEY_PEPPER: required with MAAS_DATABASE_URL (every process must hash keys with the same secret)',
    );
}

/** The config as it may be logged: secrets replaced by `[redacted]`. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(configSpec) as [ConfigKey, OptionSpec<unknown>][]) {
    const value = config[key];
    out[key] = spec.secret && value !== null ? '[redacted]' : value;
  }
  return out;
}
