/**
 * JSON request bodies, bounded: the size by fastify's `bodyLimit` (MAAS_MAX_JSON_BYTES, 413),
 * the nesting by a linear pre-scan BEFORE `JSON.parse` (MAAS_MAX_JSON_DEPTH, 400), so a 10 MB
 * body of `[[[[…` costs one pass over its bytes (milliseconds) instead of a parse whose result
 * then stalls every recursive consumer. Invalid JSON is a 400 naming line, column and offset.
 */
import { fail } from '../common/errors';
import { jsonErrorOffset } from '../data/index';

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

export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (text.trim() === '')
    fail('invalid_request', 'the body is empty: send a JSON document (or no Content-Type header)', {
      pointer: 'body',
    });
  const deep = depthExceededAt(text, maxDepth);
  if (deep >= 0) {
    const at = positionOf(text, deep);
    fail(
      'invalid_request',
      `the JSON body nests deeper than ${maxDepth} levels at ${at} (limit maxJsonDepth, setting MAAS_MAX_JSON_DEPTH)`,
      { pointer: `body, ${at}` },
    );
  }
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
