/**
 * Tool calls parsed from model output in the published formats, whole and streamed: the streamed
 * events (split at every size from 1 to 7 characters) add up to the same calls as the whole text.
 */
import { describe, expect, it } from 'vitest';
import { type ParsedOutput, parseToolCalls } from '../../../src/models/language/tools/parse';
import { ToolCallStream, type ToolStreamEvent } from '../../../src/models/language/tools/stream';

const KNOWN = new Set(['get_weather', 'get_time', 'search']);

// Outputs as the models' chat templates make them write calls (from their model cards and templates).
const CASES: [string, string, ParsedOutput][] = [
  [
    'Qwen 2.5 / Hermes, one call',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>',
    {
      content: null,
      toolCalls: [{ name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' }],
    },
  ],
  [
    'Hermes, text then two calls',
    'Let me check both.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Oslo"}}\n</tool_call>',
    {
      content: 'Let me check both.',
      toolCalls: [
        { name: 'get_weather', arguments: '{"city": "Oslo"}' },
        { name: 'get_time', arguments: '{"tz": "Europe/Oslo"}' },
      ],
    },
  ],
  [
    'Mistral v0.3',
    '[TOOL_CALLS] [{"name": "search", "arguments": {"query": "whale \\"sperm\\"", "limit": 3}}, {"name": "get_time", "arguments": {}}]',
    {
      content: null,
      toolCalls: [
        { name: 'search', arguments: '{"query": "whale \\"sperm\\"", "limit": 3}' },
        { name: 'get_time', arguments: '{}' },
      ],
    },
  ],
  [
    'Mistral v11',
    '[TOOL_CALLS]get_weather[ARGS]{"city": "Lyon"}',
    { content: null, toolCalls: [{ name: 'get_weather', arguments: '{"city": "Lyon"}' }] },
  ],
  [
    'Llama 3.1 JSON with python_tag',
    '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Rome", "days": [1, 2]}}<|eom_id|>',
    { content: null, toolCalls: [{ name: 'get_weather', arguments: '{"city": "Rome", "days": [1, 2]}' }] },
  ],
  [
    'Llama 3.1 custom function tag',
    'Checking.<function=get_time>{"tz": "UTC"}</function>',
    { content: 'Checking.', toolCalls: [{ name: 'get_time', arguments: '{"tz": "UTC"}' }] },
  ],
  [
    'plain JSON (Llama 3.2 JSON mode, forced calls)',
    '{"name": "search", "parameters": {"query": "moby dick"}}',
    { content: null, toolCalls: [{ name: 'search', arguments: '{"query": "moby dick"}' }] },
  ],
  [
    'plain JSON list in a fence, arguments as a string',
    '```json\n[{"name": "get_weather", "arguments": "{\\"city\\": \\"Nice\\"}"}]\n```',
    { content: null, toolCalls: [{ name: 'get_weather', arguments: '{"city": "Nice"}' }] },
  ],
];

const NOT_CALLS: [string, string][] = [
  ['plain text', 'The weather in Paris is mild; {"name": "x"} is just an example.'],
  ['JSON that is an answer, not a call', '{"answer": 42, "name": "deep thought"}'],
  ['JSON naming an unknown tool', '{"name": "launch_rockets", "arguments": {}}'],
];

function streamed(text: string, size: number): ParsedOutput {
  const s = new ToolCallStream(KNOWN);
  const events: ToolStreamEvent[] = [];
  for (let i = 0; i < text.length; i += size) events.push(...s.push(text.slice(i, i + size)));
  events.push(...s.end());
  let content = '';
  const calls: { name: string; arguments: string }[] = [];
  for (const e of events) {
    if (e.type === 'content') content += e.text;
    else if (e.type === 'call') {
      expect(e.index).toBe(calls.length);
      calls.push({ name: e.name, arguments: '' });
    } else calls[e.index].arguments += e.text;
  }
  return { content: content.trim() || null, toolCalls: calls };
}

describe('tool-call parsing', () => {
  it.each(CASES)('%s', (_, text, expected) => {
    expect(parseToolCalls(text, KNOWN)).toEqual(expected);
    for (let size = 1; size <= 7; size++) expect(streamed(text, size), `chunks of ${size}`).toEqual(expected);
  });

  it.each(NOT_CALLS)('%s stays content', (_, text) => {
    expect(parseToolCalls(text, KNOWN)).toEqual({ content: text, toolCalls: [] });
    for (let size = 1; size <= 7; size++) expect(streamed(text, size).toolCalls).toEqual([]);
    expect(streamed(text, 3).content).toBe(text.trim());
  });

  it('a broken Hermes block is content when whole; streamed, its name went out before the break showed', () => {
    const text = 'Hi <tool_call>\n{"name": "get_weather", "arguments": {"city": \n</tool_call> bye';
    expect(parseToolCalls(text, KNOWN)).toEqual({ content: text, toolCalls: [] });
    const s = streamed(text, 4);
    expect(s.toolCalls.map((c) => c.name)).toEqual(['get_weather']);
    expect(s.content).toBe('Hi  bye');
  });

  it('streams a call as name first, then argument fragments before the call is complete', () => {
    const s = new ToolCallStream(KNOWN);
    const text =
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>';
    const firstHalf = s.push(text.slice(0, 60));
    expect(firstHalf[0]).toEqual({ type: 'call', index: 0, name: 'get_weather' });
    expect(firstHalf.slice(1).every((e) => e.type === 'arguments')).toBe(true);
    expect(firstHalf.length).toBeGreaterThan(1);
  });

  it('holds back text that may open a call, and sends it when it does not', () => {
    const s = new ToolCallStream(KNOWN);
    expect(s.push('Sure <tool_c')).toEqual([{ type: 'content', text: 'Sure ' }]);
    expect(s.push('up of tea')).toEqual([{ type: 'content', text: '<tool_cup of tea' }]);
  });
});
