/**
 * Chat fine-tuning data: OpenAI's chat JSONL (`{"messages": [{role, content}, …]}` per line),
 * rendered with the model's own chat template and tokenized with its own tokenizer. Only the
 * assistant messages are learned: the tokens an assistant turn adds to the rendered text (its
 * content and the template's end-of-turn marker) get labels, every other position is ignored.
 *
 *   const chats = parseChatJsonl(text);
 *   const rows = encodeChats(chats, template, tokenizer, 256);   // { ids, labels } per chat
 */
import { fail } from '../../../common/errors';
import type { Tensor } from '../../../engine/runtime/tensor';
import { tensorFrom } from '../../../engine/runtime/tensor';
import type { ChatTemplate, TemplateMessage } from '../../hf/template';
import type { TextTokenizer } from '../../hf/tokenizer';
import { IGNORE } from './spec';

const ROLES = new Set(['system', 'user', 'assistant']);

function bad(line: number, why: string): never {
  return fail('invalid_request', `training_file line ${line}: ${why}`, { pointer: 'training_file' });
}

/** Each line a chat; every chat needs at least one assistant message to learn from. */
export function parseChatJsonl(text: string): TemplateMessage[][] {
  const chats: TemplateMessage[][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      bad(i + 1, 'not valid JSON');
    }
    const messages = (row as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length === 0) bad(i + 1, 'expected {"messages": [...]}');
    const chat = messages.map((m, k) => {
      const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
      if (typeof role !== 'string' || !ROLES.has(role))
        bad(i + 1, `messages[${k}].role must be system, user or assistant`);
      if (typeof content !== 'string') bad(i + 1, `messages[${k}].content must be a string`);
      return { role, content };
    });
    if (!chat.some((m) => m.role === 'assistant')) bad(i + 1, 'no assistant message to learn from');
    chats.push(chat);
  });
  if (chats.length === 0)
    fail('invalid_request', 'training_file holds no chats', { pointer: 'training_file' });
  return chats;
}

export interface EncodedChat {
  ids: number[];
  /** labels[t] = ids[t + 1] where that token is an assistant's, else IGNORE. */
  labels: number[];
}

/**
 * Text up to each assistant turn is encoded apart from the turn itself, as the server will see it:
 * the prompt rendered with the generation prompt, encoded alone, then the answer's tokens (a BPE
 * merge across that boundary would teach tokens the served prompt never ends with).
 */
export function encodeChat(
  chat: readonly TemplateMessage[],
  template: ChatTemplate,
  tokenizer: TextTokenizer,
): EncodedChat {
  const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
  const ids: number[] = [];
  const learned: boolean[] = [];
  const push = (text: string, learn: boolean) => {
    for (const id of encode(text)) {
      ids.push(id);
      learned.push(learn);
    }
  };
  let done = '';
  chat.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const prompt = template.render(chat.slice(0, i), { addGenerationPrompt: true });
    const upto = template.render(chat.slice(0, i + 1), { addGenerationPrompt: false });
    if (!prompt.startsWith(done) || !upto.startsWith(prompt))
      fail('unprocessable', "the model's chat template does not render turns as prefixes of each other", {
        pointer: 'training_file',
      });
    push(prompt.slice(done.length), false);
    push(upto.slice(prompt.length), true);
    done = upto;
  });
  const full = template.render(chat, { addGenerationPrompt: false });
  if (full.startsWith(done)) push(full.slice(done.length), false);
  const labels = ids.map((_, t) => (t + 1 < ids.length && learned[t + 1] ? ids[t + 1] : IGNORE));
  return { ids, labels };
}

/** A batch of chats padded (right) to `length`, with the decoder's other inputs for no cache. */
export function chatBatch(
  rows: readonly EncodedChat[],
  length: number,
  pad: number,
  inputs: readonly { name: string; shape: (number | string)[] }[],
): Record<string, Tensor> {
  const n = rows.length;
  const ids = new Array<bigint>(n * length).fill(BigInt(pad));
  const labels = new Array<bigint>(n * length).fill(BigInt(IGNORE));
  rows.forEach((r, b) => {
    for (let t = 0; t < Math.min(length, r.ids.length); t++) {
      ids[b * length + t] = BigInt(r.ids[t]);
      labels[b * length + t] = BigInt(r.labels[t]);
    }
  });
  const out: Record<string, Tensor> = {
    input_ids: tensorFrom('int64', [n, length], ids),
    labels: tensorFrom('int64', [n, length], labels),
  };
  for (const input of inputs) {
    if (input.name === 'attention_mask')
      out[input.name] = tensorFrom('int64', [n, length], new Array(n * length).fill(1n));
    else if (input.name === 'position_ids')
      out[input.name] = tensorFrom(
        'int64',
        [n, length],
        Array.from({ length: n * length }, (_, i) => BigInt(i % length)),
      );
    else if (input.name.startsWith('past_key_values')) {
      const dims = input.shape.map((d, i) => (i === 0 ? n : typeof d === 'number' ? d : 0));
      out[input.name] = tensorFrom('float32', dims, []);
    }
  }
  return out;
}
