import { type Cell, isImageCell, type Row } from './table';

export type ColumnKind = 'numeric' | 'categorical' | 'text' | 'image';

export interface ColumnSummary {
  name: string;
  kind: ColumnKind;
  /** True for the column named as the training target. */
  target?: boolean;
  /** Cells with a value. */
  count: number;
  /** Cells that are absent, empty or spelled as missing (`NA`, `null`, `NaN`, `?`). */
  missing: number;
  /** Distinct values seen, capped at `DISTINCT_CAP` (then `distinctCapped`). */
  distinct: number;
  distinctCapped: boolean;
  numeric?: { min: number; max: number; mean: number; std: number };
  /** Most frequent values, most frequent first (categorical and short text). */
  top?: { value: string; count: number }[];
  /** Mean length in characters (text). */
  meanLength?: number;
  /** The most common image size (image). */
  image?: { width: number; height: number; channels: number };
}

/** Distinct values tracked per column; past this a string column counts as free text. */
export const DISTINCT_CAP = 1000;
const MISSING = new Set(['', 'na', 'n/a', 'null', 'nan', '?', 'none']);
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export function isMissing(cell: Cell | undefined): boolean {
  if (cell === null || cell === undefined) return true;
  if (typeof cell === 'number') return Number.isNaN(cell);
  // Only short strings can spell a missing value; skip copying long texts.
  return typeof cell === 'string' && cell.length <= 8 && MISSING.has(cell.trim().toLowerCase());
}

/** The number in a cell, or null when it is not one (`"1e3"` → 1000, `"12 kg"` → null). */
export function parseNumber(cell: Cell | undefined): number | null {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : null;
  if (typeof cell !== 'string') return null;
  const t = cell.trim();
  return NUMBER.test(t) ? Number(t) : null;
}

export function cellText(cell: Cell | undefined): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') return `<image ${cell.width}x${cell.height}x${cell.channels}>`;
  return typeof cell === 'number' ? String(cell) : cell.trim();
}

/** Running statistics for one column; memory bounded by `DISTINCT_CAP`. */
class ColumnStats {
  rowsSeen = 0;
  missing = 0;
  numbers = 0;
  images = 0;
  sum = 0;
  sumSq = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  totalLength = 0;
  counts = new Map<string, number>();
  capped = false;
  sizes = new Map<string, number>();

  constructor(readonly name: string) {}

  add(cell: Cell | undefined): void {
    this.rowsSeen++;
    if (isMissing(cell)) {
      this.missing++;
      return;
    }
    if (isImageCell(cell)) {
      this.images++;
      const key = `${cell.width}x${cell.height}x${cell.channels}`;
      this.sizes.set(key, (this.sizes.get(key) ?? 0) + 1);
      return;
    }
    const text = cellText(cell);
    this.totalLength += text.length;
    const n = parseNumber(cell);
    if (n !== null) {
      this.numbers++;
      this.sum += n;
      this.sumSq += n * n;
      this.min = Math.min(this.min, n);
      this.max = Math.max(this.max, n);
    }
    const seen = this.counts.get(text);
    if (seen !== undefined) this.counts.set(text, seen + 1);
    else if (this.counts.size < DISTINCT_CAP) this.counts.set(text, 1);
    else this.capped = true;
  }

  summary(rows: number): ColumnSummary {
    const missing = this.missing + (rows - this.rowsSeen); // a JSONL row without the key
    const count = rows - missing;
    const base = { name: this.name, count, missing, distinct: this.counts.size, distinctCapped: this.capped };
    if (this.images > 0) {
      const [size] = [...this.sizes.entries()].sort((a, b) => b[1] - a[1])[0];
      const [width, height, channels] = size.split('x').map(Number);
      return { ...base, kind: 'image', distinct: 0, image: { width, height, channels } };
    }
    const top = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([value, c]) => ({ value, count: c }));
    if (count > 0 && this.numbers === count) {
      const mean = this.sum / count;
      const std = Math.sqrt(Math.max(0, this.sumSq / count - mean * mean));
      return { ...base, kind: 'numeric', numeric: { min: this.min, max: this.max, mean, std }, top };
    }
    const meanLength = count > 0 ? this.totalLength / count : 0;
    // Few distinct short values → categories; many, or long ones → free text.
    const categorical = !this.capped && meanLength <= 40 && this.counts.size <= Math.max(20, 0.2 * count);
    return { ...base, kind: categorical ? 'categorical' : 'text', top, meanLength };
  }
}

/** Infers column kinds and statistics in one pass; columns appear in order of first sight. */
export class SchemaBuilder {
  private readonly columns = new Map<string, ColumnStats>();
  rows = 0;

  add(row: Row): void {
    this.rows++;
    for (const [name, cell] of Object.entries(row.values)) {
      let stats = this.columns.get(name);
      if (!stats) {
        stats = new ColumnStats(name);
        stats.rowsSeen = this.rows - 1; // the rows before this one lacked the column
        stats.missing = this.rows - 1;
        this.columns.set(name, stats);
      }
      stats.add(cell);
    }
  }

  build(target?: string): ColumnSummary[] {
    return [...this.columns.values()].map((c) => {
      const summary = c.summary(this.rows);
      return c.name === target ? { ...summary, target: true } : summary;
    });
  }

  /** Counts per class of the target column, or undefined when it has too many values to be classes. */
  classBalance(target: string): Record<string, number> | undefined {
    const stats = this.columns.get(target);
    if (!stats || stats.capped || stats.counts.size > 1000) return undefined;
    const entries = [...stats.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return Object.fromEntries(entries);
  }
}
