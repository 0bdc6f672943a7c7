import { fail } from '../common/errors';

/**
 * Every malformed input becomes ONE catalog error, `invalid_dataset`, whose pointer names the place
 * of the FIRST problem: `line 12, column 3` for text formats, `entry "cats/1.png"` for archives,
 * `byte 16` for binary ones. The message repeats the place so a CLI user sees it without the pointer.
 */
export function badData(where: string, detail: string): never {
  fail('invalid_dataset', `${where}: ${detail}`, { pointer: where });
}

export function atLine(line: number, column?: number): string {
  return column === undefined ? `line ${line}` : `line ${line}, column ${column}`;
}

export function atEntry(name: string): string {
  return `entry ${JSON.stringify(name.slice(0, 200))}`;
}

/** Row cap per dataset: a reader stops with an error rather than grow without bound. */
export const DEFAULT_MAX_ROWS = 5_000_000;

export function checkRowCap(rows: number, maxRows: number, where: string): void {
  if (rows > maxRows) badData(where, `more than ${maxRows} rows (the limit for one dataset)`);
}
