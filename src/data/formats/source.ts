import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
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

/** A byte stream of the file, gunzipped on the fly when it starts with the gzip magic. */
export async function openBytes(path: string): Promise<Readable> {
  const head = await readHead(path, 2);
  const raw = createReadStream(path);
  if (!isGzip(head)) return raw;
  const gunzip = createGunzip();
  raw.on('error', (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

/**
 * UTF-8 text chunks of the file (gzip handled), decoded across chunk boundaries. Bytes that are
 * not UTF-8 (a Latin-1 export, a binary file) are refused with the line and column where they
 * start, rather than read as replacement characters.
 */
export async function openText(path: string): Promise<AsyncIterable<string>> {
  return utf8Chunks(await openBytes(path));
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

/** Lines of a text file with their numbers; `\r\n` and `\n` both end a line; a BOM is dropped. */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  const lines = createInterface({
    input: Readable.from(await openText(path)),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let line = 0;
  for await (const text of lines) {
    line++;
    yield { line, text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  }
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
