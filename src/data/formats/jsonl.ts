import type { DataLimits } from '../limits';
import { atLine, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Cell, Row } from '../table';
import { jsonErrorOffset } from './json-locate';
import { readLines } from './source';

export interface JsonlOptions {
  maxRows?: number;
  limits?: Partial<DataLimits>;
}

/**
 * JSON Lines: one JSON object per line, blank lines skipped. Numbers stay numbers, booleans
 * become `"true"`/`"false"`, nested values their JSON text, `null` a missing value. Columns are
 * the union of keys in order of first appearance; a key absent from a row is a missing value.
 */
export async function* readJsonl(path: string, options: JsonlOptions = {}): AsyncGenerator<Row> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  let count = 0;
  for await (const { line, text } of readLines(path, options.limits)) {
    if (text.trim() === '') continue;
    const parsed = parseJsonLine(text, line);
    checkRowCap(++count, maxRows, atLine(line));
    const values: Record<string, Cell> = {};
    for (const [key, v] of Object.entries(parsed)) values[key] = toCell(v);
    yield { where: atLine(line), values };
  }
}

/** One line's JSON object, or a data error naming the line and column. */
export function parseJsonLine(text: string, line: number): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const at = jsonErrorOffset(text);
    const column = Math.max(at, 0) + 1;
    const near =
      at >= 0 && at < text.length ? `near ${JSON.stringify(text.slice(at, at + 12))}` : 'at end of line';
    badData(atLine(line, column), `invalid JSON ${near}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    badData(atLine(line, firstNonSpace(text)), 'expected a JSON object per line');
  }
  return parsed as Record<string, unknown>;
}

function firstNonSpace(text: string): number {
  return text.length - text.trimStart().length + 1;
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
