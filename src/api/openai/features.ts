/**
 * OpenAI request fields beyond sampling: `response_format`, `tools` + `tool_choice`, `logprobs` +
 * `top_logprobs`, `user`. Validated here, before any byte is streamed, and turned into what the
 * generation core takes: a compiled JSON grammar (structured output, or a forced tool call) and a
 * count of top log probabilities.
 *
 * tool_choice: `none` (tools are not parsed from the output), `auto` (the default with tools: the
 * output is parsed for calls), `required` (the output is forced to be a call of one of the tools,
 * `{"name": ..., "arguments": {...}}` with the arguments following that tool's parameters), or
 * `{type: "function", function: {name}}` (forced to be a call of that one).
 */
import { fail } from '../../common/errors';
import { compileSchema } from '../../models/language/constrain/schema';
import type { JsonFormat } from '../../models/task';
import type { Body } from './parse';

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: unknown;
}

export interface OpenAIFeatures {
  json?: JsonFormat;
  /** Alternatives per token (0..20); absent: no log probabilities. */
  logprobs?: number;
  tools: ToolDefinition[];
  /** The tools as sent, for chat templates that render them. */
  rawTools?: unknown[];
  /** Parse tool calls out of the output (tools given, tool_choice not `none`). */
  parseTools: boolean;
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_TOOLS = 128;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(pointer: string, why: string): never {
  return fail('invalid_request', `${pointer}: ${why}`, { pointer });
}

function responseFormat(raw: unknown): JsonFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) invalid('response_format', 'must be an object with a type');
  if (raw.type === 'text') return undefined;
  if (raw.type === 'json_object')
    return { root: compileSchema({ type: 'object' }, 'response_format'), key: 'json_object' };
  if (raw.type !== 'json_schema') invalid('response_format.type', 'must be text, json_object or json_schema');
  const spec = raw.json_schema;
  if (!isObject(spec)) invalid('response_format.json_schema', 'is required with type json_schema');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name))
    invalid('response_format.json_schema.name', 'must be 1 to 64 letters, digits, _ or -');
  if (spec.strict !== undefined && spec.strict !== null && typeof spec.strict !== 'boolean')
    invalid('response_format.json_schema.strict', 'must be a boolean');
  const schema = spec.schema ?? {};
  const root = compileSchema(schema, 'response_format.json_schema.schema');
  return { root, key: JSON.stringify(schema) };
}

function tools(raw: unknown): ToolDefinition[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.length > MAX_TOOLS)
    invalid('tools', `must be a list of at most ${MAX_TOOLS} tools`);
  const seen = new Set<string>();
  return raw.map((t, i) => {
    const at = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function))
      invalid(at, 'must be {"type": "function", "function": {...}}');
    const fn = t.function;
    if (typeof fn.name !== 'string' || !NAME.test(fn.name))
      invalid(`${at}.function.name`, 'must be 1 to 64 letters, digits, _ or -');
    if (seen.has(fn.name)) invalid(`${at}.function.name`, `"${fn.name}" is defined twice`);
    seen.add(fn.name);
    if (fn.description !== undefined && typeof fn.description !== 'string')
      invalid(`${at}.function.description`, 'must be a string');
    if (fn.parameters !== undefined && !isObject(fn.parameters))
      invalid(`${at}.function.parameters`, 'must be a JSON Schema object');
    return { name: fn.name, description: fn.description as string | undefined, parameters: fn.parameters };
  });
}

/** The forced call: `{"name": <one of names>, "arguments": <that tool's parameters>}`. */
function forcedCall(all: ToolDefinition[], names: string[]): JsonFormat {
  const branch = (t: ToolDefinition) => ({
    type: 'object',
    properties: { name: { const: t.name }, arguments: t.parameters ?? { type: 'object' } },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  const chosen = all.filter((t) => names.includes(t.name));
  chosen.forEach((t) => {
    if (t.parameters !== undefined)
      compileSchema(t.parameters, `tools[${all.indexOf(t)}].function.parameters`); // errors name the tool
  });
  const schema = chosen.length === 1 ? branch(chosen[0]) : { anyOf: chosen.map(branch) };
  return { root: compileSchema(schema, 'tool_choice'), key: `tools:${JSON.stringify(schema)}` };
}

function toolChoice(raw: unknown, defined: ToolDefinition[]): { parse: boolean; force?: string[] } {
  if (raw === undefined || raw === null) return { parse: defined.length > 0 };
  if (raw === 'none') return { parse: false };
  if (defined.length === 0) invalid('tool_choice', 'needs tools');
  if (raw === 'auto') return { parse: true };
  if (raw === 'required') return { parse: true, force: defined.map((t) => t.name) };
  const name =
    isObject(raw) && raw.type === 'function' && isObject(raw.function) ? raw.function.name : undefined;
  if (typeof name !== 'string')
    invalid('tool_choice', 'must be none, auto, required or {"type": "function", "function": {"name": ...}}');
  if (!defined.some((t) => t.name === name))
    invalid('tool_choice.function.name', `no tool is named "${name}"`);
  return { parse: true, force: [name] };
}

function logprobCount(body: Body, kind: 'chat' | 'text'): number | undefined {
  const lp = body.logprobs;
  const top = body.top_logprobs;
  if (kind === 'text') {
    if (lp === undefined || lp === null) return undefined;
    if (typeof lp !== 'number' || !Number.isInteger(lp) || lp < 0 || lp > 20)
      invalid('logprobs', 'must be an integer from 0 to 20 on completions');
    return lp;
  }
  if (lp !== undefined && lp !== null && typeof lp !== 'boolean') invalid('logprobs', 'must be a boolean');
  if (top !== undefined && top !== null) {
    if (typeof top !== 'number' || !Number.isInteger(top) || top < 0 || top > 20)
      invalid('top_logprobs', 'must be an integer from 0 to 20');
    if (lp !== true) invalid('top_logprobs', 'needs logprobs: true');
  }
  return lp === true ? ((top as number | undefined) ?? 0) : undefined;
}

export function openAIFeatures(body: Body, kind: 'chat' | 'text'): OpenAIFeatures {
  if (
    body.user !== undefined &&
    body.user !== null &&
    (typeof body.user !== 'string' || body.user.length > 256)
  )
    invalid('user', 'must be a string of at most 256 characters');
  if (body.parallel_tool_calls !== undefined && typeof body.parallel_tool_calls !== 'boolean')
    invalid('parallel_tool_calls', 'must be a boolean');
  const defined = kind === 'chat' ? tools(body.tools) : [];
  if (kind === 'text' && body.tools !== undefined) invalid('tools', 'tools are for chat completions');
  const choice = toolChoice(body.tool_choice, defined);
  const json = choice.force ? forcedCall(defined, choice.force) : responseFormat(body.response_format);
  return {
    json,
    logprobs: logprobCount(body, kind),
    tools: defined,
    rawTools: defined.length > 0 ? (body.tools as unknown[]) : undefined,
    parseTools: choice.parse,
  };
}
