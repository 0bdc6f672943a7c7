import { atLine, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Row } from '../table';
import { openText } from './source';

/** One parsed record: its fields and where each began, for error messages. */
export interface DelimitedRecord {
  /** 1-based line where the record starts (a quoted field may span lines). */
  line: number;
  fields: string[];
  /** 1-based column where each field starts. */
  columns: number[];
  /** Line and column just past the last character of the record. */
  endLine: number;
  endColumn: number;
}

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

/**
 * RFC 4180 records from text chunks, streamed: fields may be quoted (`"a ""b"""`), quoted fields
 * may hold delimiters and newlines; `\r\n` or `\n` ends a record. Blank lines are skipped. A quote
 * inside an unquoted field, text after a closing quote, or an unterminated quote is refused with
 * its line and column.
 */
export async function* parseDelimited(
  chunks: AsyncIterable<string> | Iterable<string>,
  delimiter: string,
): AsyncGenerator<DelimitedRecord> {
  let state = State.FieldStart;
  let line = 1;
  let col = 0; // column of the character being read
  let field = '';
  let fields: string[] = [];
  let columns: number[] = [];
  let recordLine = 1;
  let quoteLine = 1;
  let quoteCol = 1;
  let first = true;
  const endField = () => {
    fields.push(field);
    field = '';
  };
  const startField = (c: number) => {
    if (fields.length === 0 && columns.length === 0) recordLine = line;
    columns.push(c);
  };
  const takeRecord = (): DelimitedRecord | null => {
    endField();
    const rec = { line: recordLine, fields, columns, endLine: line, endColumn: col };
    fields = [];
    columns = [];
    const blank = rec.fields.length === 1 && rec.fields[0] === '' && state !== State.QuoteInQuoted;
    return blank ? null : rec;
  };
  for await (let chunk of chunks) {
    if (first) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      col++;
      if (state === State.Quoted) {
        if (ch === '"') state = State.QuoteInQuoted;
        else {
          field += ch;
          if (ch === '\n') {
            line++;
            col = 0;
          }
        }
        continue;
      }
      if (state === State.QuoteInQuoted && ch === '"') {
        field += '"';
        state = State.Quoted;
        continue;
      }
      if (ch === '\r') {
        col--; // `\r\n` ends the line at the `\n`; a lone `\r` is dropped
        continue;
      }
      if (state === State.FieldStart && columns.length === fields.length) startField(col);
      if (ch === delimiter) {
        endField();
        state = State.FieldStart;
      } else if (ch === '\n') {
        const rec = takeRecord();
        state = State.FieldStart;
        if (rec) yield rec;
        line++;
        col = 0;
      } else if (state === State.QuoteInQuoted) {
        badData(atLine(line, col), `unexpected ${JSON.stringify(ch)} after a closing quote`);
      } else if (ch === '"') {
        if (state !== State.FieldStart || field !== '') {
          badData(
            atLine(line, col),
            'quote inside an unquoted field (quote the whole field and double the quote)',
          );
        }
        state = State.Quoted;
        quoteLine = line;
        quoteCol = col;
      } else {
        field += ch;
        state = State.Unquoted;
      }
    }
  }
  if (state === State.Quoted) badData(atLine(quoteLine, quoteCol), 'quoted field is never closed');
  if (columns.length > 0 || field !== '' || fields.length > 0) {
    col++;
    const rec = takeRecord();
    if (rec) yield rec;
  }
}

export interface DelimitedOptions {
  delimiter: ',' | '\t' | ';' | '|';
  maxRows?: number;
}

export interface DelimitedTable {
  columns: string[];
  rows: AsyncGenerator<Row>;
}

/** CSV/TSV with a header line: each data record must have exactly as many fields as the header. */
export async function readDelimited(path: string, options: DelimitedOptions): Promise<DelimitedTable> {
  const records = parseDelimited(await openText(path), options.delimiter);
  const head = await records.next();
  if (head.done) badData(atLine(1), 'empty file: expected a header line');
  const columns = checkHeader(head.value);
  return { columns, rows: rowsOf(records, columns, options.maxRows ?? DEFAULT_MAX_ROWS) };
}

function checkHeader(rec: DelimitedRecord): string[] {
  const seen = new Set<string>();
  rec.fields.forEach((raw, i) => {
    const name = raw.trim();
    if (name === '') badData(atLine(rec.line, rec.columns[i]), `header field ${i + 1} is empty`);
    if (seen.has(name))
      badData(atLine(rec.line, rec.columns[i]), `duplicate column name ${JSON.stringify(name)}`);
    seen.add(name);
  });
  return rec.fields.map((f) => f.trim());
}

async function* rowsOf(
  records: AsyncGenerator<DelimitedRecord>,
  columns: string[],
  maxRows: number,
): AsyncGenerator<Row> {
  let count = 0;
  for await (const rec of records) {
    const n = rec.fields.length;
    if (n !== columns.length) {
      // Too few: point just past the record's end; too many: at the first extra field.
      const where =
        n < columns.length
          ? atLine(rec.endLine, rec.endColumn)
          : atLine(rec.line, rec.columns[columns.length]);
      badData(where, `expected ${columns.length} fields, got ${n}`);
    }
    checkRowCap(++count, maxRows, atLine(rec.line));
    const values: Row['values'] = {};
    columns.forEach((c, i) => {
      values[c] = rec.fields[i];
    });
    yield { where: atLine(rec.line), values };
  }
}
