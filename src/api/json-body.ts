/**
 * JSON request bodies, bounded: the size by the route's `bodyLimit` (MAAS_MAX_JSON_BYTES, 413),
 * the nesting by a linear scan BEFORE `JSON.parse` (MAAS_MAX_JSON_DEPTH, 400), run on the bytes
 * while they arrive (bodies.ts), so a 10 MB body of `[[[[…` is refused at its 65th byte instead of
 * being received, decoded and parsed into a result that stalls every recursive consumer. Invalid
 * JSON is a 400 naming line, column and offset.
 */
import { fail } from '../common/errors';
// Straight from its module: the JSON parser threads (json-worker.ts) load this file, not the readers.
import { jsonErrorOffset } from '../data/formats/json-locate';

/** How many `[` and `{` the text holds, counting no further than `limit + 1` (native indexOf). */
function openersUpTo(text: string, limit: number): number {
  let n = 0;
  for (const ch of ['[', '{']) {
    for (let i = text.indexOf(ch); i >= 0 && n <= limit; i = text.indexOf(ch, i + 1)) n++;
  }
  return n;
}

/** 0-based offset of the bracket that opens level `maxDepth + 1`, or -1. Strings are skipped. */
export function depthExceededAt(text: string, maxDepth: number): number {
  // A body with no more openers than the limit cannot nest past it: the usual case (a tensor
  // request has a handful), settled by native scans instead of a per-character loop, which cost
  // ≈ 0.1 ms per 15 KB request under the batching benchmark's load.
  if (openersUpTo(text, maxDepth) <= maxDepth) return -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/**
 * What a JSON body may hold besides its size: nesting depth (MAAS_MAX_JSON_DEPTH) and arrays and
 * objects in all (MAAS_MAX_JSON_CONTAINERS). The count matters because JSON.parse's cost per byte
 * depends on the shape: 1 MiB of `[{},{},…]` (350,000 objects) took 670 ms of the event loop at
 * load 20 on 2 cores, against 45 ms for 1 MiB of floats; 32 MiB of it, 42 s.
 */
export interface JsonShape {
  maxDepth: number;
  /** Unbounded when absent. */
  maxContainers?: number;
}

const shapeOf = (s: number | JsonShape): JsonShape => (typeof s === 'number' ? { maxDepth: s } : s);

/**
 * The same scan over UTF-8 bytes, fed chunk by chunk as they arrive, so a bomb is refused at its
 * first bracket too many (too deep, or one container too many): before the rest is received,
 * buffered or decoded. Safe byte by byte: no byte of a multi-byte UTF-8 sequence is a quote, a
 * backslash or a bracket.
 */
export class JsonDepthScanner {
  private depth = 0;
  private containers = 0;
  private inString = false;
  private escaped = false;
  private seen = 0;
  readonly maxDepth: number;
  readonly maxContainers: number;
  /** Which limit the offset `feed` returned crossed. */
  crossed: 'depth' | 'containers' | null = null;

  constructor(shape: number | JsonShape) {
    const s = shapeOf(shape);
    this.maxDepth = s.maxDepth;
    this.maxContainers = s.maxContainers ?? Number.POSITIVE_INFINITY;
  }

  /** Offset (in the whole body) of the bracket past a limit, or -1 while within them. */
  feed(bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++this.depth > this.maxDepth) this.crossed = 'depth';
        else if (++this.containers > this.maxContainers) this.crossed = 'containers';
        if (this.crossed) return this.seen + i;
      } else if (c === 0x5d || c === 0x7d) this.depth--;
    }
    this.seen += bytes.length;
    return -1;
  }

  /** Throws the 400 of the limit crossed; `textBefore` is the body up to the bracket. */
  refuse(textBefore: string): never {
    if (this.crossed === 'containers') tooManyContainers(textBefore, this.maxContainers);
    return tooDeep(textBefore, this.maxDepth);
  }
}

/** `line L, column C` (1-based) of a 0-based offset. */
export function positionOf(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/** The 400 of a body nesting past `maxDepth`; `textBefore` is the body up to the bracket. */
export function tooDeep(textBefore: string, maxDepth: number): never {
  const at = positionOf(textBefore, textBefore.length);
  return fail(
    'invalid_request',
    `the JSON body nests deeper than ${maxDepth} levels at ${at} (limit maxJsonDepth, setting MAAS_MAX_JSON_DEPTH)`,
    { pointer: `body, ${at}` },
  );
}

/** The 400 of a body holding more than `max` arrays and objects. */
function tooManyContainers(textBefore: string, max: number): never {
  const at = positionOf(textBefore, textBefore.length);
  return fail(
    'invalid_request',
    `the JSON body holds more than ${max} arrays and objects (at ${at}; limit maxJsonContainers, setting MAAS_MAX_JSON_CONTAINERS): send tensors as flat arrays of numbers, or in the binary tensor format`,
    { pointer: `body, ${at}` },
  );
}

/**
 * A JSON body, bounded in depth (and, given bytes, in containers). Given the raw bytes (what the server reads), the depth is checked
 * before they are decoded, and a bomb's position comes from decoding only the bytes before it;
 * `depthChecked` when a JsonDepthScanner already saw every byte (bodies.ts's streaming reader).
 */
export function parseJsonBody(
  body: string | Uint8Array,
  shape: number | JsonShape,
  depthChecked = false,
): unknown {
  const { maxDepth } = shapeOf(shape);
  let text: string;
  if (typeof body === 'string') {
    const deep = depthChecked ? -1 : depthExceededAt(body, maxDepth);
    if (deep >= 0) tooDeep(body.slice(0, deep), maxDepth);
    text = body;
  } else {
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const scanner = new JsonDepthScanner(shape);
    const deep = depthChecked ? -1 : scanner.feed(bytes);
    if (deep >= 0) scanner.refuse(bytes.toString('utf8', 0, deep));
    text = bytes.toString('utf8');
  }
  if (text.trim() === '')
    fail('invalid_request', 'the body is empty: send a JSON document (or no Content-Type header)', {
      pointer: 'body',
    });
  try {
    return JSON.parse(text);
  } catch {
    const offset = Math.max(0, jsonErrorOffset(text));
    const at = positionOf(text, offset);
    const near =
      offset < text.length ? `near ${JSON.stringify(text.slice(offset, offset + 12))}` : 'at the end';
    return fail('invalid_request', `the body is not valid JSON: ${at} (offset ${offset}), ${near}`, {
      pointer: `body, ${at}`,
    });
  }
}
