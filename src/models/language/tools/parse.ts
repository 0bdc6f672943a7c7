/**
 * Tool calls in a model's finished output, for the conventions published chat templates teach:
 *
 *   hermes   (Hermes, Qwen 2/2.5/3, SmolLM3):  <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
 *            several blocks allowed; text outside them is the message content
 *   mistral  (Mistral v0.3):                   [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]
 *            (Mistral v11+):                   [TOOL_CALLS]f[ARGS]{...}
 *   llama    (Llama 3.1/3.2 JSON):             <|python_tag|>{"name": "f", "parameters": {...}}
 *            (Llama 3.1 custom):               <function=f>{...}</function>
 *   json     (plain JSON, and maas's forced calls): {"name": "f", "arguments": {...}}, or a list of
 *            them, optionally in a ```json fence
 *
 * A format that does not match leaves the text as content. With `known` tool names, a plain JSON
 * object whose name is not a known tool stays content (the model answered in JSON, it did not call).
 */
import { argumentsText, scanCall, skipWs, valueEnd } from './scan';

export interface ParsedToolCall {
  name: string;
  /** JSON text of the arguments, as written. */
  arguments: string;
}

export interface ParsedOutput {
  /** Text that is not a tool call (null when there is none). */
  content: string | null;
  toolCalls: ParsedToolCall[];
}

/** Call objects in `text` from `i`: one object, or a list of them (optionally `;`-separated). */
export function callsIn(text: string, i = 0): ParsedToolCall[] | null {
  i = skipWs(text, i);
  const list = text[i] === '[';
  if (list) i = skipWs(text, i + 1);
  const calls: ParsedToolCall[] = [];
  for (;;) {
    const c = scanCall(text, i);
    if (c.invalid || c.end === undefined || c.name === undefined) return null;
    const args =
      c.argsStart !== undefined && c.argsEnd !== undefined ? text.slice(c.argsStart, c.argsEnd) : '{}';
    calls.push({ name: c.name, arguments: argumentsText(args) });
    i = skipWs(text, c.end);
    if (text[i] === ',' || text[i] === ';') i = skipWs(text, i + 1);
    if (list && text[i] === ']') i = skipWs(text, i + 1);
    if (i >= text.length) return calls;
    if (text[i] !== '{') return null;
  }
}

type FormatParser = (text: string, known?: ReadonlySet<string>) => ParsedOutput | null;

function content(text: string): string | null {
  const t = text.trim();
  return t.length > 0 ? t : null;
}

const hermes: FormatParser = (text) => {
  const re = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;
  const calls: ParsedToolCall[] = [];
  let rest = '';
  let at = 0;
  for (const m of text.matchAll(re)) {
    const found = callsIn(m[1].trim());
    if (!found) return null;
    calls.push(...found);
    rest += text.slice(at, m.index);
    at = m.index + m[0].length;
  }
  if (calls.length === 0) return null;
  return { content: content(rest + text.slice(at)), toolCalls: calls };
};

const mistral: FormatParser = (text) => {
  const at = text.indexOf('[TOOL_CALLS]');
  if (at < 0) return null;
  const body = text.slice(at + '[TOOL_CALLS]'.length);
  const v11 = [...body.matchAll(/([A-Za-z0-9_.-]+)\[ARGS\]/g)];
  if (v11.length > 0) {
    const calls: ParsedToolCall[] = [];
    for (const m of v11) {
      const start = skipWs(body, m.index + m[0].length);
      const end = valueEnd(body, start);
      if (end < 0) return null;
      calls.push({ name: m[1], arguments: body.slice(start, end) });
    }
    return { content: content(text.slice(0, at)), toolCalls: calls };
  }
  const calls = callsIn(body.trim());
  return calls ? { content: content(text.slice(0, at)), toolCalls: calls } : null;
};

const llama: FormatParser = (text) => {
  const tag = text.indexOf('<|python_tag|>');
  if (tag >= 0) {
    const body = text.slice(tag + '<|python_tag|>'.length).replace(/<\|(eom_id|eot_id)\|>\s*$/, '');
    const calls = callsIn(body.trim());
    return calls ? { content: content(text.slice(0, tag)), toolCalls: calls } : null;
  }
  const re = /<function=([A-Za-z0-9_.-]+)>([\s\S]*?)<\/function>/g;
  const calls: ParsedToolCall[] = [];
  for (const m of text.matchAll(re)) {
    const args = m[2].trim() || '{}';
    if (valueEnd(args, 0) !== args.length) return null;
    calls.push({ name: m[1], arguments: args });
  }
  return calls.length > 0 ? { content: content(text.replace(re, '')), toolCalls: calls } : null;
};

const plainJson: FormatParser = (text, known) => {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  const body = (fenced ? fenced[1] : text).trim();
  if (!body.startsWith('{') && !body.startsWith('[')) return null;
  const calls = callsIn(body);
  if (!calls || calls.length === 0) return null;
  if (known && calls.some((c) => !known.has(c.name))) return null;
  return { content: null, toolCalls: calls };
};

/** Tried in this order; the first that recognises the text wins. */
export const TOOL_CALL_FORMATS: readonly { name: string; parse: FormatParser }[] = [
  { name: 'hermes', parse: hermes },
  { name: 'mistral', parse: mistral },
  { name: 'llama', parse: llama },
  { name: 'json', parse: plainJson },
];

export function parseToolCalls(text: string, known?: ReadonlySet<string>): ParsedOutput {
  for (const f of TOOL_CALL_FORMATS) {
    const out = f.parse(text, known);
    if (out) return out;
  }
  return { content: text, toolCalls: [] };
}
