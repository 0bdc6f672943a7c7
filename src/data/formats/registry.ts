import type { DataLimits } from '../limits';
import { badData } from '../problems';
import type { Row } from '../table';
import { parseDelimited, readDelimited } from './csv';
import { idxRows, looksLikeIdx, readIdx } from './idx';
import { readImageArchive } from './image-archive';
import { readJsonl } from './jsonl';
import { isFineTuneExample, readFineTune } from './openai-finetune';
import { isGzip, readContentHead, readHead } from './source';
import { readTextLines } from './text';

export interface ReadOptions {
  maxRows?: number;
  /** For IDX images: the matching labels file (IDX, [n]). */
  labelsPath?: string;
  /** Budgets enforced while reading (src/data/limits.ts); defaults where absent. */
  limits?: Partial<DataLimits>;
}

/** What a format offers: recognise a file by its first bytes, and read it as rows. */
export interface DatasetFormat {
  name: string;
  description: string;
  /** `head` is the first 64 KiB of the content (gunzipped); `fileHead` the file's own first bytes. */
  sniff(head: Buffer, fileHead: Buffer): boolean | Promise<boolean>;
  rows(path: string, options: ReadOptions): AsyncIterable<Row>;
}

const formats = new Map<string, DatasetFormat>();

/** Add a format; names are unique. Detection tries formats in the order they were added. */
export function registerFormat(format: DatasetFormat): void {
  if (formats.has(format.name)) throw new Error(`dataset format ${format.name} is already registered`);
  formats.set(format.name, format);
}

export function getFormat(name: string): DatasetFormat {
  const format = formats.get(name);
  if (!format)
    badData('format', `unknown format ${JSON.stringify(name)}; known: ${[...formats.keys()].join(', ')}`);
  return format;
}

/** Which format a file is, from its content (never its name). */
export async function detectFormat(path: string): Promise<DatasetFormat> {
  const fileHead = await readHead(path, 4096);
  const head = isGzip(fileHead) ? await readContentHead(path) : await readHead(path);
  if (head.length === 0) badData('file', 'the file is empty');
  for (const format of formats.values()) if (await format.sniff(head, fileHead)) return format;
  badData(
    'file',
    'unrecognised format: expected CSV, TSV, JSONL, text, IDX, or a zip / tar.gz image archive',
  );
}

function firstLine(head: Buffer): string {
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

function firstNonBlankLine(head: Buffer): string {
  return (
    head
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .find((l) => l.trim() !== '') ?? ''
  );
}

/**
 * A head looks delimited when its header has ≥ 2 short fields and at least half of the next
 * records (up to 20 complete lines) have as many: prose with commas fails on its varying counts,
 * while a CSV with a broken line near the top is still read as CSV (and the line is reported).
 * A quote error (a stray `"`) is judged on the plain line shapes instead, so such a file is
 * refused with its line rather than silently read as a text corpus.
 */
async function looksDelimited(head: Buffer, delimiter: string): Promise<boolean> {
  if (isBinary(head) || !firstLine(head).includes(delimiter)) return false;
  const text = head.toString('utf8');
  const complete = text.includes('\n') ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  const counts: number[] = [];
  try {
    for await (const rec of parseDelimited([complete], delimiter)) {
      if (counts.length === 0 && rec.fields.some((f) => f.trim() === '' || f.length > 64)) return false;
      counts.push(rec.fields.length);
      if (counts.length === 21) break;
    }
  } catch {
    // A quote error (or a quoted field cut by the end of the head): judge the lines' shapes,
    // more strictly (two thirds as wide as the header), since prose has quotes too.
    const lines = complete.split(/\r?\n/).filter((l) => l.trim() !== '');
    return consistentCounts(
      lines.slice(0, 21).map((l) => l.split(delimiter).length),
      2 / 3,
    );
  }
  return consistentCounts(counts, 1 / 2);
}

/** A header of ≥ 2 fields, and at least `share` of the following records as wide. */
function consistentCounts(counts: number[], share: number): boolean {
  const [header, ...rest] = counts;
  if (header === undefined || header < 2) return false;
  return rest.filter((c) => c === header).length >= share * rest.length;
}

function firstLineIsFineTune(head: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(firstNonBlankLine(head));
    return typeof v === 'object' && v !== null && isFineTuneExample(v as Record<string, unknown>);
  } catch {
    // Not one whole JSON line (or cut by the end of the head): plain JSONL decides.
    return false;
  }
}

function isBinary(head: Buffer): boolean {
  return head.subarray(0, 8192).includes(0);
}

function isTar(head: Buffer): boolean {
  return head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
}

async function* delimitedRows(
  path: string,
  delimiter: ',' | '\t',
  options: ReadOptions,
): AsyncGenerator<Row> {
  const table = await readDelimited(path, { delimiter, maxRows: options.maxRows, limits: options.limits });
  yield* table.rows;
}

async function* idxDatasetRows(path: string, options: ReadOptions): AsyncGenerator<Row> {
  const images = await readIdx(path, options.limits);
  if (images.dims.length === 1) {
    for (let i = 0; i < images.dims[0]; i++)
      yield { where: `item ${i}`, values: { label: String(images.data[i]) } };
    return;
  }
  const labels = options.labelsPath ? await readIdx(options.labelsPath, options.limits) : undefined;
  yield* idxRows(images, labels);
}

registerFormat({
  name: 'zip',
  description: 'zip archive of images, one folder per label (PNG or JPEG)',
  sniff: (_head, file) => file.length >= 4 && file.readUInt32LE(0) === 0x04034b50,
  rows: (path, o) => readImageArchive(path, 'zip', { limits: o.limits, maxRows: o.maxRows }),
});
registerFormat({
  name: 'tar',
  description: 'tar or tar.gz archive of images, one folder per label (PNG or JPEG)',
  sniff: (head) => isTar(head),
  rows: (path, o) => readImageArchive(path, 'tar', { limits: o.limits, maxRows: o.maxRows }),
});
registerFormat({
  name: 'idx',
  description: 'IDX (the MNIST format), raw or gzipped; images [n,h,w] with an optional labels file',
  sniff: (head) => looksLikeIdx(head),
  rows: idxDatasetRows,
});
// Before plain JSONL: OpenAI's fine-tuning lines are JSONL too, read as {text, label}.
registerFormat({
  name: 'openai-finetune',
  description:
    'OpenAI fine-tuning JSONL ({"messages": [...]} or {"prompt", "completion"}), read as text + label',
  sniff: (head) => !isBinary(head) && firstLineIsFineTune(head),
  rows: (path, o) => readFineTune(path, o.maxRows, o.limits),
});
registerFormat({
  name: 'jsonl',
  description: 'JSON Lines: one JSON object per line',
  sniff: (head) => !isBinary(head) && firstNonBlankLine(head).trimStart().startsWith('{'),
  rows: (path, o) => readJsonl(path, { maxRows: o.maxRows, limits: o.limits }),
});
registerFormat({
  name: 'tsv',
  description: 'tab-separated values with a header line',
  sniff: (head) => looksDelimited(head, '\t'),
  rows: (path, o) => delimitedRows(path, '\t', o),
});
registerFormat({
  name: 'csv',
  description: 'comma-separated values with a header line (RFC 4180 quoting)',
  sniff: (head) => looksDelimited(head, ','),
  rows: (path, o) => delimitedRows(path, ',', o),
});
registerFormat({
  name: 'text',
  description: 'plain UTF-8 text corpus; one row per non-blank line',
  sniff: (head) => !isBinary(head),
  rows: (path, o) => readTextLines(path, o.maxRows, o.limits),
});
