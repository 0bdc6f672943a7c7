import { type BuiltinData, getBuiltin } from './builtin';
import { type DatasetFormat, detectFormat, getFormat, type ReadOptions } from './formats/registry';
import { badData } from './problems';
import { type ColumnSummary, SchemaBuilder } from './schema';
import { type Cell, isImageCell, type Row } from './table';

/** A dataset is a file (any supported format) or a built-in by name. */
export type DatasetSource = string | { path: string } | { builtin: string };

export interface SourceOptions extends ReadOptions {
  /** Skip detection: a registered format's name (csv, tsv, jsonl, text, idx, zip, tar). */
  format?: string;
}

export interface DescribeOptions extends SourceOptions {
  /** Column to report class balance for. Default: `label` when the dataset has one. */
  target?: string;
  /** Rows in the preview. Default 5. */
  previewRows?: number;
}

/** A preview cell: text cut to 200 characters; an image as its size only. */
export type PreviewCell = string | number | null | { image: string };

export interface DatasetDescription {
  format: string;
  schema: ColumnSummary[];
  rows: number;
  /** Rows per class of the target, most frequent first; absent for a regression target. */
  classBalance?: Record<string, number>;
  preview: Record<string, PreviewCell>[];
}

export interface OpenedSource {
  format: string;
  rows(): AsyncIterable<Row>;
  /** Built-ins that are a corpus have no rows but their text. */
  corpus?: string;
  /** The target the built-in was made for. */
  target?: string;
}

export function sourcePath(source: DatasetSource): string | null {
  return typeof source === 'string' ? source : 'path' in source ? source.path : null;
}

/** Resolve a source to its rows (and format name), detecting the format from content. */
export async function openSource(source: DatasetSource, options: SourceOptions = {}): Promise<OpenedSource> {
  const path = sourcePath(source);
  if (path === null) {
    const data: BuiltinData = await getBuiltin((source as { builtin: string }).builtin).load();
    if (data.kind === 'corpus')
      return { format: 'text', corpus: data.text, rows: () => corpusRows(data.text) };
    return { format: 'builtin', target: data.target, rows: () => arrayRows(data.rows) };
  }
  const format: DatasetFormat = options.format ? getFormat(options.format) : await detectFormat(path);
  return { format: format.name, rows: () => format.rows(path, options) };
}

async function* arrayRows(rows: Row[]): AsyncGenerator<Row> {
  yield* rows;
}

async function* corpusRows(text: string): AsyncGenerator<Row> {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++)
    if (lines[i].trim() !== '') yield { where: `line ${i + 1}`, values: { text: lines[i] } };
}

function previewCell(cell: Cell): PreviewCell {
  if (isImageCell(cell)) return { image: `${cell.width}x${cell.height}x${cell.channels}` };
  return typeof cell === 'string' && cell.length > 200 ? `${cell.slice(0, 200)}…` : cell;
}

/**
 * One streaming pass over a dataset: its format, inferred schema, row count, class balance of
 * the target and the first rows. The first malformed line or entry stops it with
 * `invalid_dataset` naming the place.
 */
export async function describeDataset(
  source: DatasetSource,
  options: DescribeOptions = {},
): Promise<DatasetDescription> {
  const opened = await openSource(source, options);
  const builder = new SchemaBuilder();
  const preview: Record<string, PreviewCell>[] = [];
  const previewRows = options.previewRows ?? 5;
  for await (const row of opened.rows()) {
    builder.add(row);
    if (preview.length < previewRows) {
      preview.push(Object.fromEntries(Object.entries(row.values).map(([k, v]) => [k, previewCell(v)])));
    }
  }
  if (builder.rows === 0) badData('file', 'the dataset has no rows');
  const names = builder.build().map((c) => c.name);
  const target = options.target ?? opened.target ?? (names.includes('label') ? 'label' : undefined);
  if (target !== undefined && !names.includes(target)) {
    badData(`column ${JSON.stringify(target)}`, `no such column; columns are ${names.join(', ')}`);
  }
  const schema = builder.build(target);
  const targetSummary = schema.find((c) => c.target);
  const isRegression = targetSummary?.kind === 'numeric' && targetSummary.distinct > 20;
  const classBalance = target && !isRegression ? builder.classBalance(target) : undefined;
  return {
    format: opened.format,
    schema,
    rows: builder.rows,
    ...(classBalance ? { classBalance } : {}),
    preview,
  };
}
