/**
 * OpenAI's fine-tuning JSONL, read as a text-classification table `{text, label}`: what the
 * example asks is the text, the reply it should get is the label. Two line shapes:
 *
 *   {"messages": [{"role": "system", "content": "Spam or ham?"},
 *                 {"role": "user", "content": "WIN a prize now"},
 *                 {"role": "assistant", "content": "spam"}]}       chat
 *   {"prompt": "WIN a prize now ->", "completion": " spam"}         legacy completion
 *
 * Chat: the label is the LAST assistant message; the text is the user messages before it, joined
 * by a newline (system prompts and earlier assistant turns are the same for every example of a
 * classification set, so they carry no signal). `chatExampleText` is the one place that rule
 * lives: the OpenAI chat route asks a fine-tuned classifier with the same text.
 */
import type { DataLimits } from '../limits';
import { atLine, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Row } from '../table';
import { parseJsonLine } from './jsonl';
import { readLines } from './source';

/** A chat message as OpenAI sends it: content is a string or a list of `{type: 'text', text}` parts. */
export interface ChatTurn {
  role: string;
  content: string;
}

/** Does this parsed line have one of the fine-tuning shapes? (Detection looks at the first line.) */
export function isFineTuneExample(v: Record<string, unknown>): boolean {
  return Array.isArray(v.messages) || (typeof v.prompt === 'string' && typeof v.completion === 'string');
}

/** The text of a content field (a string, or text parts); null when it is neither. */
export function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content.map((p) =>
    typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text'
      ? (p as { text?: unknown }).text
      : undefined,
  );
  return parts.every((t) => typeof t === 'string') ? parts.join('') : null;
}

/** What a classifier is asked for a conversation: its user turns, joined by a newline. */
export function chatExampleText(turns: readonly ChatTurn[]): string {
  return turns
    .filter((t) => t.role === 'user')
    .map((t) => t.content.trim())
    .join('\n');
}

function turnsOf(messages: unknown[], where: string): ChatTurn[] {
  return messages.map((m, i) => {
    const role = (m as { role?: unknown } | null)?.role;
    const content = contentText((m as { content?: unknown } | null)?.content);
    if (typeof role !== 'string' || content === null)
      badData(where, `messages[${i}] needs a role and a text content`);
    return { role, content };
  });
}

/** One line → `{text, label}`, or a data error naming the line. */
export function fineTuneRow(v: Record<string, unknown>, where: string): { text: string; label: string } {
  if (Array.isArray(v.messages)) {
    const turns = turnsOf(v.messages, where);
    const last = turns.map((t) => t.role).lastIndexOf('assistant');
    if (last < 0) badData(where, 'a chat example needs an assistant message (the answer to learn)');
    const text = chatExampleText(turns.slice(0, last));
    if (text === '') badData(where, 'a chat example needs a user message before the assistant answer');
    return { text, label: turns[last].content.trim() };
  }
  if (typeof v.prompt === 'string' && typeof v.completion === 'string')
    return { text: v.prompt.trim(), label: v.completion.trim() };
  return badData(where, 'expected {"messages": [...]} or {"prompt": ..., "completion": ...}');
}

export async function* readFineTune(
  path: string,
  maxRows = DEFAULT_MAX_ROWS,
  limits: Partial<DataLimits> = {},
): AsyncGenerator<Row> {
  let count = 0;
  for await (const { line, text } of readLines(path, limits)) {
    if (text.trim() === '') continue;
    checkRowCap(++count, maxRows, atLine(line));
    yield { where: atLine(line), values: fineTuneRow(parseJsonLine(text, line), atLine(line)) };
  }
}
