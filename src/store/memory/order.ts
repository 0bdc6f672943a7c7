/**
 * Orderings and keys shared by the in-memory adapters, chosen to match what SQLite does.
 */

/**
 * Byte-wise order of the UTF-8 encodings: SQLite's default BINARY collation (`ORDER BY name`).
 * JavaScript's `<` compares UTF-16 code units, which differs for characters beyond U+FFFF.
 */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** One map key for a composite primary key; JSON keeps `('a|b', 'c')` and `('a', 'b|c')` apart. */
export function rowKey(...parts: readonly (string | number)[]): string {
  return JSON.stringify(parts);
}

/** Millisecond ISO timestamps, as the SQLite adapter writes them (they sort correctly as text). */
export const isoNow = (): string => new Date().toISOString();

/**
 * A value as a JSON column gives it back (SQLite and PostgreSQL store these fields as JSON text):
 * `undefined` keys dropped, Dates as ISO strings, NaN as null; a BigInt throws, as it does there.
 */
export const asJsonColumn = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
