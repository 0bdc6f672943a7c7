/**
 * The config rows of the budgets that protect the server from hostile input: reader budgets
 * (src/data/limits.ts), the dataset parser's worker, JSON bodies, request timeouts and metric
 * series. docs/limits.md lists each with the attack it stops.
 */
import { dataLimitSettings, defaultDataLimits } from '../data/index';
import { int } from './config-parsers';

export const limitOptions = {
  maxInflateRatio: {
    env: dataLimitSettings.maxInflateRatio,
    flag: '--max-inflate-ratio',
    default: defaultDataLimits.maxInflateRatio,
    parse: int(2, 1_000_000),
    doc: 'Inflated ÷ compressed size above which a gzip dataset or an archive is refused as a bomb (judged past the first MiB); inflated bytes also count against MAAS_MAX_DATASET_BYTES',
  },
  maxFieldBytes: {
    env: dataLimitSettings.maxFieldBytes,
    flag: '--max-field-bytes',
    default: defaultDataLimits.maxFieldBytes,
    parse: int(64, 2 ** 30),
    doc: 'Longest CSV/TSV field of a dataset (characters)',
  },
  maxLineBytes: {
    env: dataLimitSettings.maxLineBytes,
    flag: '--max-line-bytes',
    default: defaultDataLimits.maxLineBytes,
    parse: int(64, 2 ** 30),
    doc: 'Longest JSONL or text line of a dataset (characters)',
  },
  maxImagePixels: {
    env: dataLimitSettings.maxImagePixels,
    flag: '--max-image-pixels',
    default: defaultDataLimits.maxImagePixels,
    parse: int(1, 2 ** 30),
    doc: 'Most pixels (width × height) of one decoded PNG/JPEG, judged from its header',
  },
  maxArchiveEntries: {
    env: dataLimitSettings.maxArchiveEntries,
    flag: '--max-archive-entries',
    default: defaultDataLimits.maxArchiveEntries,
    parse: int(1, 100_000_000),
    doc: 'Most entries in one zip/tar dataset',
  },
  maxArchiveEntryBytes: {
    env: dataLimitSettings.maxArchiveEntryBytes,
    flag: '--max-archive-entry-bytes',
    default: defaultDataLimits.maxArchiveEntryBytes,
    parse: int(1, 2 ** 40),
    doc: 'Most inflated bytes of one archive entry (a gzipped IDX inside counts inflated)',
  },
  datasetParseMemoryMb: {
    env: 'MAAS_DATASET_PARSE_MEMORY_MB',
    flag: '--dataset-parse-memory-mb',
    default: 512,
    parse: int(32, 1_048_576),
    doc: 'JS heap limit of the worker thread that reads and describes an uploaded dataset (MiB)',
  },
  datasetParseTimeoutMs: {
    env: 'MAAS_DATASET_PARSE_TIMEOUT_MS',
    flag: '--dataset-parse-timeout-ms',
    default: 300_000,
    parse: int(100, 86_400_000),
    doc: 'Longest time describing one uploaded dataset may take (ms)',
  },
  maxControlJsonBytes: {
    env: 'MAAS_MAX_CONTROL_JSON_BYTES',
    flag: '--max-control-json-bytes',
    default: 64 * 1024,
    parse: int(1024, 2 ** 31),
    doc: 'Largest JSON body of a management route: keys, tenants, model settings, trainings, batches (bytes)',
  },
  maxTextJsonBytes: {
    env: 'MAAS_MAX_TEXT_JSON_BYTES',
    flag: '--max-text-json-bytes',
    default: 4 * 1024 * 1024,
    parse: int(1024, 2 ** 31),
    doc: 'Largest JSON body of a text route: chat, completions, generate, embeddings, images, speech (bytes)',
  },
  maxJsonContainers: {
    env: 'MAAS_MAX_JSON_CONTAINERS',
    flag: '--max-json-containers',
    default: 100_000,
    parse: int(16, 100_000_000),
    doc: 'Most arrays and objects in one JSON request body (counted before parsing: 1 MiB of `{},` held JSON.parse 670 ms at load 20 on 2 cores)',
  },
  maxJsonDepth: {
    env: 'MAAS_MAX_JSON_DEPTH',
    flag: '--max-json-depth',
    default: 64,
    parse: int(2, 10_000),
    doc: 'Deepest nesting of arrays/objects in a JSON request body (checked before parsing)',
  },
  headersTimeoutMs: {
    env: 'MAAS_HEADERS_TIMEOUT_MS',
    flag: '--headers-timeout-ms',
    default: 10_000,
    parse: int(100, 3_600_000),
    doc: "Longest time a client may take to send a request's headers (ms)",
  },
  bodyTimeoutMs: {
    env: 'MAAS_BODY_TIMEOUT_MS',
    flag: '--body-timeout-ms',
    default: 300_000,
    parse: int(100, 86_400_000),
    doc: 'Longest time a client may take to send a whole request body, uploads included (ms); slower connections are closed',
  },
  metricsMaxSeries: {
    env: 'MAAS_METRICS_MAX_SERIES',
    flag: '--metrics-max-series',
    default: 1000,
    parse: int(1, 1_000_000),
    doc: 'Distinct values one metric label may take (per metric); later values are counted under `_other`',
  },
};
