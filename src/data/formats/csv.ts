import { type DataLimits, dataLimits, defaultDataLimits, overBudget } from '../limits';
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
 * The RFC 4180 state machine, fed one character at a time; it keeps line and column so that
 * every error names its place. Completed records are pushed to `out`.
 */
class DelimitedParser {
  private state = State.FieldStart;
  private line = 1;
  private col = 0; // column of the character being read
  private field = '';
  private fields: string[] = [];
  private columns: number[] = [];
  private recordLine = 1;
  private quoteAt = { line: 1, col: 1 };
  readonly out: DelimitedRecord[] = [];

  constructor(
    private readonly delimiter: string,
    /** Longest field (characters): a 2 GiB field is refused at the first character past it. */
    private readonly maxField: number,
  ) {}

  feed(chunk: string): void {
    for (let i = 0; i < chunk.length; i++) this.char(chunk[i]);
  }

  private char(ch: string): void {
    this.col++;
    if (this.state === State.Quoted) {
      this.quoted(ch);
      return;
    }
    if (this.state === State.QuoteInQuoted && ch === '"') {
      this.append('"'); // a doubled quote inside a quoted field
      this.state = State.Quoted;
      return;
    }
    if (ch === '\r') {
      this.col--; // `\r\n` ends the line at the `\n`; a lone `\r` is dropped
      return;
    }
    if (this.state === State.FieldStart && this.columns.length === this.fields.length) this.startField();
    if (ch === this.delimiter) {
      this.endField();
      this.state = State.FieldStart;
    } else if (ch === '\n') {
      this.endRecord();
      this.line++;
      this.col = 0;
    } else if (this.state === State.QuoteInQuoted) {
      badData(atLine(this.line, this.col), `unexpected ${JSON.stringify(ch)} after a closing quote`);
    } else if (ch === '"') {
      if (this.state !== State.FieldStart) {
        badData(
          atLine(this.line, this.col),
          'quote inside an unquoted field (quote the whole field and double the quote)',
        );
      }
      this.state = State.Quoted;
      this.quoteAt = { line: this.line, col: this.col };
    } else {
      this.append(ch);
      this.state = State.Unquoted;
    }
  }

  private append(ch: string): void {
    this.field += ch;
    if (this.field.length > this.maxField) {
      const at = this.columns[this.columns.length - 1] ?? this.col;
      overBudget(
        atLine(this.recordLine, at),
        `a field is longer than ${this.maxField} characters`,
        'maxFieldBytes',
      );
    }
  }

  private quoted(ch: string): void {
    if (ch === '"') {
      this.state = State.QuoteInQuoted;
      return;
    }
    this.append(ch);
    if (ch === '\n') {
      this.line++;
      this.col = 0;
    }
  }

  private startField(): void {
    if (this.fields.length === 0) this.recordLine = this.line;
    this.columns.push(this.col);
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
  }

  private endRecord(): void {
    this.endField();
    const rec = {
      line: this.recordLine,
      fields: this.fields,
      columns: this.columns,
      endLine: this.line,
      endColumn: this.col,
    };
    // A blank line is one empty unquoted field: skipped. `""` alone is a real empty field.
    const blank = rec.fields.length === 1 && rec.fields[0] === '' && this.state !== State.QuoteInQuoted;
    if (!blank) this.out.push(rec);
    this.fields = [];
    this.columns = [];
    this.state = State.FieldStart;
  }

  /** End of input: an open quote is an error; a last record without a newline still counts. */
  end(): void {
    if (this.state === State.Quoted)
      badData(atLine(this.quoteAt.line, this.quoteAt.col), 'quoted field is never closed');
    if (this.columns.length > 0 || this.field !== '' || this.fields.length > 0) {
      this.col++;
      this.endRecord();
    }
  }
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
  maxFieldBytes = defaultDataLimits.maxFieldBytes,
): AsyncGenerator<DelimitedRecord> {
  const parser = new DelimitedParser(delimiter, maxFieldBytes);
  let first = true;
  for await (const chunk of chunks) {
    parser.feed(first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk);
    first = false;
    yield* parser.out.splice(0);
  }
  parser.end();
  yield* parser.out.splice(0);
}

export interface DelimitedOptions {
  delimiter: ',' | '\t' | ';' | '|';
  maxRows?: number;
  limits?: Partial<DataLimits>;
}

export interface DelimitedTable {
  columns: string[];
  rows: AsyncGenerator<Row>;
}

/** CSV/TSV with a header line: each data record must have exactly as many fields as the header. */
export async function readDelimited(path: string, options: DelimitedOptions): Promise<DelimitedTable> {
  const limits = dataLimits(options.limits);
  const records = parseDelimited(await openText(path, limits), options.delimiter, limits.maxFieldBytes);
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
