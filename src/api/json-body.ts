/**
 * JSON request bodies, bounded: the size by fastify's `bodyLimit` (MAAS_MAX_JSON_BYTES, 413),
 * the nesting by a linear pre-scan BEFORE `JSON.parse` (MAAS_MAX_JSON_DEPTH, 400), so a 10 MB
 * body of `[[[[…` costs one pass over its bytes (milliseconds) instead of a parse whose result
 * then stalls every recursive consumer. Invalid JSON is a 400 naming line, column and offset.
 */
import { fail } from '../common/errors';
import { jsonErrorOffset } from '../data/index';

/** 0-based offset of the bracket that opens level `maxDepth + 1`, or -1. Strings are skipped. */
export function depthExceededAt(text: string, maxDepth: number): number {
  return depthScan(text.length, (i) => text.charCodeAt(i), maxDepth);
}

/**
 * The same scan over UTF-8 bytes, so a bomb is refused before the body is decoded into a string
 * (decoding 10 MB costs more than the scan). Safe byte by byte: no byte of a multi-byte UTF-8
 * sequence is a quote, a backslash or a bracket.
 */
function depthExceededAtByte(bytes: Uint8Array, maxDepth: number): number {
  return depthScan(bytes.length, (i) => bytes[i], maxDepth);
}

function depthScan(length: number, codeAt: (i: number) => number, maxDepth: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = codeAt(i);
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

function tooDeep(textBefore: string, maxDepth: number): never {
  const at = positionOf(textBefore, textBefore.length);
  return fail(
    'invalid_request',
    `the JSON body nests deeper than ${maxDepth} levels at ${at} (limit maxJsonDepth, setting MAAS_MAX_JSON_DEPTH)`,
    { pointer: `body, ${at}` },
  );
}

/**
 * A JSON body, bounded in depth. Given the raw bytes (what the server reads), the depth is checked
 * before they are decoded, and a bomb's position comes from decoding only the bytes before it.
 */
export function parseJsonBody(body: string | Uint8Array, maxDepth: number): unknown {
  let text: string;
  if (typeof body === 'string') {
    const deep = depthExceededAt(body, maxDepth);
    if (deep >= 0) tooDeep(body.slice(0, deep), maxDepth);
    text = body;
  } else {
    const deep = depthExceededAtByte(body, maxDepth);
    if (deep >= 0) tooDeep(Buffer.from(body.buffer, body.byteOffset, deep).toString('utf8'), maxDepth);
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
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
