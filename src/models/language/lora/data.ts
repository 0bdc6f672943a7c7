/**
 * Chat fine-tuning data: OpenAI's chat JSONL (`{"messages": [{role, content}, …]}` per line),
 * rendered with the model's own chat template and tokenized with its own tokenizer. Only the
 * assistant messages are learned: the tokens an assistant turn adds to the rendered text (its
 * content and the template's end-of-turn marker) get labels, every other position is ignored.
 *
 * A model without a chat template learns `{"prompt", "completion"}` lines instead (the completion
 * and the end-of-text token are learned).
 *
 *   const examples = parseExamplesJsonl(text);
 *   const rows = examples.map((e) => encodeExample(e, template, tokenizer, eosId));   // { ids, labels }
 */
import { fail } from '../../../common/errors';
import type { Tensor } from '../../../engine/runtime/tensor';
import { tensorFrom } from '../../../engine/runtime/tensor';
import type { ChatTemplate, TemplateMessage } from '../../hf/template';
import type { TextTokenizer } from '../../hf/tokenizer';
import { IGNORE, isPastInput } from './spec';

const ROLES = new Set(['system', 'user', 'assistant']);

function bad(line: number, why: string): never {
  return fail('invalid_request', `training_file line ${line}: ${why}`, { pointer: 'training_file' });
}

/**
 * One training example: a chat (rendered with the model's template), or, for a model without a
 * chat template (maas's gpt, a base model), OpenAI's legacy `{"prompt", "completion"}` pair:
 * the completion (and the end-of-text token, when the vocabulary has one) is learned.
 */
export type TrainingExample = { messages: TemplateMessage[] } | { prompt: string; completion: string };

function chatOf(line: number, messages: unknown): TemplateMessage[] {
  if (!Array.isArray(messages) || messages.length === 0)
    bad(line, 'expected {"messages": [...]} or {"prompt": "...", "completion": "..."}');
  const chat = (messages as unknown[]).map((m, k) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role))
      bad(line, `messages[${k}].role must be system, user or assistant`);
    if (typeof content !== 'string') bad(line, `messages[${k}].content must be a string`);
    return { role, content };
  });
  if (!chat.some((m) => m.role === 'assistant')) bad(line, 'no assistant message to learn from');
  return chat;
}

function exampleOf(line: number, row: unknown): TrainingExample {
  const r = (row ?? {}) as { messages?: unknown; prompt?: unknown; completion?: unknown };
  if (r.messages === undefined && (r.prompt !== undefined || r.completion !== undefined)) {
    if (typeof r.prompt !== 'string' || typeof r.completion !== 'string' || r.completion === '')
      bad(line, 'prompt and completion must be strings, the completion not empty');
    return { prompt: r.prompt, completion: r.completion };
  }
  return { messages: chatOf(line, r.messages) };
}

/** Each line a chat or a prompt/completion pair; every chat needs an assistant message to learn from. */
export function parseExamplesJsonl(text: string): TrainingExample[] {
  const examples: TrainingExample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      bad(i + 1, 'not valid JSON');
    }
    examples.push(exampleOf(i + 1, row));
  });
  if (examples.length === 0)
    fail('invalid_request', 'training_file holds no examples', { pointer: 'training_file' });
  return examples;
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
function encodeChat(
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

/** A prompt/completion pair: the prompt as the server encodes it, then the completion and end token learned. */
function encodeCompletion(
  prompt: string,
  completion: string,
  tokenizer: TextTokenizer,
  eos: number | undefined,
): EncodedChat {
  const encode = (text: string) => tokenizer.encode(text, { addSpecialTokens: false });
  const head = encode(prompt);
  const tail = [...encode(completion), ...(eos === undefined ? [] : [eos])];
  const ids = [...head, ...tail];
  const labels = ids.map((_, t) => (t + 1 >= head.length && t + 1 < ids.length ? ids[t + 1] : IGNORE));
  return { ids, labels };
}

/** Any example as ids and labels; a chat needs the model's template. */
export function encodeExample(
  example: TrainingExample,
  template: ChatTemplate | null,
  tokenizer: TextTokenizer,
  eos: number | undefined,
): EncodedChat {
  if ('prompt' in example) return encodeCompletion(example.prompt, example.completion, tokenizer, eos);
  if (!template)
    fail(
      'unprocessable',
      'the model has no chat template to render the training chats with: give {"prompt", "completion"} lines',
      { pointer: 'training_file' },
    );
  return encodeChat(example.messages, template, tokenizer);
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
    else if (isPastInput(input.name)) {
      const dims = input.shape.map((d, i) => (i === 0 ? n : typeof d === 'number' ? d : 0));
      out[input.name] = tensorFrom('float32', dims, []);
    }
  }
  return out;
}
