import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type DataLimits, dataLimits, InflateBudget, overBudget } from '../limits';
import { atLine, badData } from '../problems';

/** The first bytes of a file, for format detection by content (not by extension). */
export async function readHead(path: string, bytes = 65_536): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * A byte stream of the file, gunzipped on the fly when it starts with the gzip magic. Inflated
 * bytes count against `maxInflatedBytes` and the ratio limit as they come (a bomb stops after
 * about one budget of output, never after it has filled memory).
 */
export async function openBytes(path: string, limits: Partial<DataLimits> = {}): Promise<Readable> {
  const head = await readHead(path, 2);
  const raw = createReadStream(path);
  if (!isGzip(head)) return raw;
  const budget = new InflateBudget(dataLimits(limits), (await stat(path)).size);
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return Readable.from(counted(raw.pipe(gunzip), budget, raw), { objectMode: false });
}

async function* counted(inflated: Readable, budget: InflateBudget, raw: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of inflated as AsyncIterable<Buffer>) {
      budget.add(chunk.length);
      yield chunk;
    }
  } finally {
    inflated.destroy();
    raw.destroy();
  }
}

/**
 * UTF-8 text chunks of the file (gzip handled), decoded across chunk boundaries. Bytes that are
 * not UTF-8 (a Latin-1 export, a binary file) are refused with the line and column where they
 * start, rather than read as replacement characters.
 */
export async function openText(
  path: string,
  limits: Partial<DataLimits> = {},
): Promise<AsyncIterable<string>> {
  return utf8Chunks(await openBytes(path, limits));
}

async function* utf8Chunks(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let line = 1;
  let col = 0; // characters already on the current line
  for await (const chunk of bytes) {
    let text: string;
    try {
      text = strict.decode(chunk, { stream: true });
    } catch {
      const lenient = new TextDecoder('utf-8').decode(chunk);
      const at = lenient.indexOf('\uFFFD');
      const before = lenient.slice(0, Math.max(at, 0));
      const nl = before.lastIndexOf('\n');
      const l = line + (before.match(/\n/g)?.length ?? 0);
      badData(
        atLine(l, (nl < 0 ? col + before.length : before.length - nl - 1) + 1),
        'invalid UTF-8 (save the file as UTF-8)',
      );
    }
    const nl = text.lastIndexOf('\n');
    if (nl < 0) col += text.length;
    else {
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
      col = text.length - nl - 1;
    }
    yield text;
  }
  const rest = strict.decode();
  if (rest) yield rest;
}

export interface NumberedLine {
  /** 1-based. */
  line: number;
  text: string;
}

/**
 * Lines of a text file with their numbers; `\r\n` and `\n` both end a line; a BOM is dropped.
 * A line longer than `maxLineBytes` characters is refused while it is still being read.
 */
export async function* readLines(
  path: string,
  limits: Partial<DataLimits> = {},
): AsyncGenerator<NumberedLine> {
  const max = dataLimits(limits).maxLineBytes;
  let pending = '';
  let line = 0;
  const emit = (text: string): NumberedLine => {
    line++;
    const t = text.endsWith('\r') ? text.slice(0, -1) : text;
    return { line, text: line === 1 && t.charCodeAt(0) === 0xfeff ? t.slice(1) : t };
  };
  for await (const chunk of await openText(path, limits)) {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', from)) {
      const text = pending + chunk.slice(from, nl);
      pending = '';
      from = nl + 1;
      if (text.length > max + 1) tooLong(line + 1, max);
      yield emit(text);
    }
    pending += chunk.slice(from);
    if (pending.length > max + 1) tooLong(line + 1, max);
  }
  if (pending !== '') yield emit(pending);
}

function tooLong(line: number, max: number): never {
  overBudget(atLine(line), `line longer than ${max} characters`, 'maxLineBytes');
}

/** The first bytes of the file's content: gunzipped when the file is gzip. */
export async function readContentHead(path: string, bytes = 65_536): Promise<Buffer> {
  const stream = await openBytes(path);
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      total += chunk.length;
      if (total >= bytes) break;
    }
  } catch {
    // a truncated gzip still tells us what it starts with
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, bytes);
}
