/**
 * Budgets every reader enforces WHILE it streams, so a small hostile file (a 2 MB gzip whose one
 * CSV field inflates to 2 GiB) is refused after reading about one budget's worth, never after
 * it has filled memory. Each budget has a setting (an environment variable read by the server's
 * config); an overrun is ONE catalog error, `payload_too_large` (413), whose message names the
 * budget, its value and its setting, e.g.
 * `line 2, column 3: a field is longer than 1048576 characters (limit maxFieldBytes, setting MAAS_MAX_FIELD_BYTES)`.
 */
import { fail } from '../common/errors';

export interface DataLimits {
  /** Most bytes a file may inflate to (gzip undone, archive entries and gzipped IDX inside archives counted). */
  maxInflatedBytes: number;
  /** Inflated ÷ compressed bytes above which a gzip stream or an archive is a bomb. */
  maxInflateRatio: number;
  /** Bytes inflated before the ratio is judged: tar pads each file to 512 bytes, so tiny honest archives exceed 100×. */
  ratioGraceBytes: number;
  /** Longest CSV/TSV field, in characters (≤ its UTF-8 bytes). */
  maxFieldBytes: number;
  /** Longest JSONL or text line, in characters (≤ its UTF-8 bytes). */
  maxLineBytes: number;
  /** Most pixels (width × height) of one decoded PNG/JPEG, judged from its header before decoding. */
  maxImagePixels: number;
  /** Most entries (files and folders) in one zip/tar archive. */
  maxArchiveEntries: number;
  /** Most inflated bytes of one archive entry (a gzipped IDX inside counts inflated). */
  maxArchiveEntryBytes: number;
}

const MiB = 1024 * 1024;

export const defaultDataLimits: Readonly<DataLimits> = Object.freeze({
  maxInflatedBytes: 1024 * MiB,
  maxInflateRatio: 100,
  ratioGraceBytes: MiB,
  maxFieldBytes: MiB,
  maxLineBytes: 16 * MiB,
  maxImagePixels: 4096 * 4096,
  maxArchiveEntries: 100_000,
  maxArchiveEntryBytes: 64 * MiB,
});

/** The server setting behind each budget, named in every refusal (the config table reads them). */
export const dataLimitSettings: Readonly<Record<keyof DataLimits, string>> = Object.freeze({
  maxInflatedBytes: 'MAAS_MAX_DATASET_BYTES',
  maxInflateRatio: 'MAAS_MAX_INFLATE_RATIO',
  ratioGraceBytes: 'MAAS_MAX_INFLATE_RATIO',
  maxFieldBytes: 'MAAS_MAX_FIELD_BYTES',
  maxLineBytes: 'MAAS_MAX_LINE_BYTES',
  maxImagePixels: 'MAAS_MAX_IMAGE_PIXELS',
  maxArchiveEntries: 'MAAS_MAX_ARCHIVE_ENTRIES',
  maxArchiveEntryBytes: 'MAAS_MAX_ARCHIVE_ENTRY_BYTES',
});

export function dataLimits(partial: Partial<DataLimits> = {}): DataLimits {
  return { ...defaultDataLimits, ...partial };
}

/** Refuse an input that exceeds a budget: 413, naming the place, the budget and its setting. */
export function overBudget(where: string, what: string, limit: keyof DataLimits): never {
  fail('payload_too_large', `${where}: ${what} (limit ${limit}, setting ${dataLimitSettings[limit]})`, {
    pointer: where,
  });
}

/**
 * Counts inflated bytes against the budgets: the total cap, and the ratio to the compressed
 * size once past the grace. `check` throws (413) the moment one is exceeded.
 */
export class InflateBudget {
  private inflated = 0;

  constructor(
    private readonly limits: DataLimits,
    /** Compressed size of the whole input (bytes). */
    private readonly compressedBytes: number,
    private readonly where = 'file',
  ) {}

  get total(): number {
    return this.inflated;
  }

  add(bytes: number, where = this.where): void {
    this.inflated += bytes;
    const { maxInflatedBytes, maxInflateRatio, ratioGraceBytes } = this.limits;
    if (this.inflated > maxInflatedBytes)
      overBudget(where, `inflates past ${maxInflatedBytes} bytes`, 'maxInflatedBytes');
    if (
      this.inflated > ratioGraceBytes &&
      this.inflated > maxInflateRatio * Math.max(this.compressedBytes, 1)
    )
      overBudget(
        where,
        `inflates more than ${maxInflateRatio}× its ${this.compressedBytes} compressed bytes (a decompression bomb?)`,
        'maxInflateRatio',
      );
  }
}
