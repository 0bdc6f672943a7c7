/**
 * Chat messages → one prompt, by a template stored in the model version's metadata under
 * `chat_template` (all fields optional):
 *
 *   { "message": "{role}: {content}", "separator": "\n", "generation": "\nassistant:",
 *     "stop": ["\nuser:"] }
 *
 * With the defaults, [{role:'system',content:'Be brief.'},{role:'user',content:'Hi'}] becomes
 * "system: Be brief.\nuser: Hi\nassistant:". `stop` ends the answer where the model would start
 * writing the next user turn; it is added after the client's own stop sequences.
 */
import { fail } from '../../common/errors';
import { MAX_STOP_SEQUENCES } from '../../models/common/generator';

export interface ChatMessage {
  role: string;
  content: string;
  /** An assistant turn's tool calls (OpenAI `tool_calls`); `arguments` is JSON text. */
  toolCalls?: { id: string; name: string; arguments: string }[];
  /** A `tool` message answers the call with this id. */
  toolCallId?: string;
}

export interface ChatTemplate {
  message: string;
  separator: string;
  generation: string;
  stop: string[];
}

export const defaultChatTemplate: ChatTemplate = {
  message: '{role}: {content}',
  separator: '\n',
  generation: '\nassistant:',
  stop: ['\nuser:'],
};

/** Roles a client may send (OpenAI's set; `developer` is the newer name of `system`). */
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
const MAX_MESSAGES = 1024;

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.length <= 1000 ? v : fallback;
}

/** The version's template merged over the defaults; malformed fields fall back to the default. */
export function chatTemplateOf(metadata: Readonly<Record<string, unknown>>): ChatTemplate {
  const raw = metadata.chat_template;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return defaultChatTemplate;
  const t = raw as Record<string, unknown>;
  const stop =
    Array.isArray(t.stop) && t.stop.every((s) => typeof s === 'string' && s.length > 0)
      ? (t.stop as string[])
      : defaultChatTemplate.stop;
  return {
    message: text(t.message, defaultChatTemplate.message),
    separator: text(t.separator, defaultChatTemplate.separator),
    generation: text(t.generation, defaultChatTemplate.generation),
    stop,
  };
}

/** OpenAI message content: a string, or a list of `{type:'text', text}` parts (others refused). */
function contentText(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        const p = part as { type?: unknown; text?: unknown };
        if (p?.type !== 'text' || typeof p.text !== 'string') {
          fail('invalid_request', `messages[${index}].content: only text parts are supported`, {
            pointer: `messages[${index}].content`,
          });
        }
        return p.text;
      })
      .join('');
  }
  return fail('invalid_request', `messages[${index}].content must be a string or a list of text parts`, {
    pointer: `messages[${index}].content`,
  });
}

export function parseMessages(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_MESSAGES) {
    fail('invalid_request', `messages must be a list of 1 to ${MAX_MESSAGES} messages`, {
      pointer: 'messages',
    });
  }
  return raw.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      fail('invalid_request', `messages[${i}].role must be one of ${[...ROLES].join(', ')}`, {
        pointer: `messages[${i}].role`,
      });
    }
    const message: ChatMessage = {
      role: role === 'developer' ? 'system' : role,
      content: contentText((m as { content?: unknown }).content, i),
    };
    const extra = toolFields(m as Record<string, unknown>, role, i);
    return extra ? { ...message, ...extra } : message;
  });
}

const text64 = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 256;

/** `tool_calls` of an assistant message, `tool_call_id` of a tool message. */
function toolFields(m: Record<string, unknown>, role: string, i: number): Partial<ChatMessage> | null {
  const where = `messages[${i}]`;
  if (role === 'tool') {
    if (!text64(m.tool_call_id))
      fail('invalid_request', `${where}.tool_call_id is required for a tool message`, {
        pointer: `${where}.tool_call_id`,
      });
    return { toolCallId: m.tool_call_id as string };
  }
  if (role !== 'assistant' || m.tool_calls === undefined || m.tool_calls === null) return null;
  if (!Array.isArray(m.tool_calls) || m.tool_calls.length > 128)
    fail('invalid_request', `${where}.tool_calls must be a list`, { pointer: `${where}.tool_calls` });
  const toolCalls = m.tool_calls.map((c, j) => {
    const call = c as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
    const at = `${where}.tool_calls[${j}]`;
    if (!text64(call?.id) || (call.type !== undefined && call.type !== 'function'))
      fail('invalid_request', `${at} needs an id and type "function"`, { pointer: at });
    const fn = call.function;
    if (!text64(fn?.name) || typeof fn?.arguments !== 'string' || fn.arguments.length > 100_000)
      fail('invalid_request', `${at}.function needs a name and arguments (a JSON string)`, {
        pointer: `${at}.function`,
      });
    return { id: call.id as string, name: fn.name as string, arguments: fn.arguments };
  });
  return { toolCalls };
}

/** An assistant turn with tool calls, in the Hermes convention (maas's simple templates have none of their own). */
function withToolCalls(m: ChatMessage): string {
  const calls = (m.toolCalls ?? []).map(
    (c) => `<tool_call>\n{"name": ${JSON.stringify(c.name)}, "arguments": ${c.arguments}}\n</tool_call>`,
  );
  return [m.content, ...calls].filter((t) => t.length > 0).join('\n');
}

export function renderChat(messages: readonly ChatMessage[], template: ChatTemplate): string {
  // Function replacements, so that `$&` in a message stays literal text.
  const lines = messages.map((m) =>
    template.message.replace('{role}', () => m.role).replace('{content}', () => withToolCalls(m)),
  );
  return lines.join(template.separator) + template.generation;
}

/** The client's stop sequences first, then the template's, up to the limit of 4. */
export function chatStops(clientStops: readonly string[], template: ChatTemplate): string[] {
  return [...new Set([...clientStops, ...template.stop])].slice(0, MAX_STOP_SEQUENCES);
}
