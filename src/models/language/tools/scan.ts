/**
 * A forgiving incremental reader of the JSON a model writes for a tool call, used on text that
 * may still be growing: `valueEnd` says where a JSON value ends (or that it has not ended yet),
 * `scanCall` reads `{"name": ..., "arguments"|"parameters": ...}` as far as it goes.
 */

const WS = new Set([' ', '\n', '\t', '\r']);

export function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

/** Not yet known: the text ends inside the value. */
export const INCOMPLETE = -1;
/** Not JSON. */
export const INVALID = -2;

/** End (exclusive) of the JSON value starting at `i`, or INCOMPLETE / INVALID. */
export function valueEnd(text: string, i: number): number {
  if (i >= text.length) return INCOMPLETE;
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        const e = stringEnd(text, j);
        if (e < 0) return e;
        j = e - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return INCOMPLETE;
  }
  const m = /^(?:-?[0-9][0-9.eE+-]*|true|false|null)/.exec(text.slice(i, i + 64));
  if (!m) return /^[-0-9tfn]/.test(c) && text.length - i < 6 ? INCOMPLETE : INVALID;
  const end = i + m[0].length;
  return end >= text.length ? INCOMPLETE : end; // a number may still grow
}

function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return INCOMPLETE;
}

export interface ScannedCall {
  name?: string;
  /** Where the arguments value starts and ends (end absent while it is still being written). */
  argsStart?: number;
  argsEnd?: number;
  /** End of the whole call object, once closed. */
  end?: number;
  invalid?: boolean;
}

const ARG_KEYS = new Set(['arguments', 'parameters']);

/** Read a call object starting at `i` (after whitespace) as far as the text goes. */
export function scanCall(text: string, i: number): ScannedCall {
  const out: ScannedCall = {};
  i = skipWs(text, i);
  if (i >= text.length) return out;
  if (text[i] !== '{') return { invalid: true };
  i++;
  for (;;) {
    i = skipWs(text, i);
    if (i >= text.length) return out;
    if (text[i] === '}') return { ...out, end: i + 1 };
    if (text[i] === ',') {
      i++;
      continue;
    }
    const keyEnd = valueEnd(text, i);
    if (keyEnd === INCOMPLETE) return out;
    if (keyEnd === INVALID || text[i] !== '"') return { invalid: true };
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (i >= text.length) return out;
    if (text[i] !== ':') return { invalid: true };
    const start = skipWs(text, i + 1);
    if (start >= text.length) return out;
    const end = valueEnd(text, start);
    if (end === INVALID) return { invalid: true };
    if (ARG_KEYS.has(key)) out.argsStart = start;
    if (end === INCOMPLETE) return out;
    if (key === 'name') {
      const name = JSON.parse(text.slice(start, end)) as unknown;
      if (typeof name !== 'string') return { invalid: true };
      out.name = name;
    }
    if (ARG_KEYS.has(key)) out.argsEnd = end;
    i = end;
  }
}

/** The arguments as OpenAI sends them: a JSON text (a string value is taken as that text). */
export function argumentsText(raw: string): string {
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  return raw;
}
