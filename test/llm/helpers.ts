/**
 * Helpers of the served-LLM tests: pack a folder as a .tar.gz, upload it, and the reference of
 * every comparison, `@huggingface/transformers` (offline) generating from the same folder.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';
import type { FastifyInstance } from 'fastify';
import { packTarGz } from '../../src/data/formats/tar-pack';
import { auth } from '../helpers/server';

/** Every file under `dir` as [folder path, bytes]; `edit` may replace or drop (null) a file. */
export async function folderFiles(
  dir: string,
  edit: (path: string, bytes: Uint8Array) => Uint8Array | string | null = (_p, b) => b,
): Promise<[string, Uint8Array | string][]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: [string, Uint8Array | string][] = [];
  for (const e of entries.filter((x) => x.isFile())) {
    const path = relative(dir, join(e.parentPath, e.name)).split(sep).join('/');
    const edited = edit(path, new Uint8Array(await readFile(join(dir, path))));
    if (edited !== null) out.push([path, edited]);
  }
  return out;
}

/** A .tar.gz of `files` under one top folder `top` (as `tar -czf x.tgz top/` writes it). */
export function packFolder(files: [string, Uint8Array | string][], top = 'model'): Promise<Buffer> {
  return packTarGz(files.map(([p, b]) => [`${top}/${p}`, b] as const));
}

export async function uploadArchive(
  app: FastifyInstance,
  name: string,
  archive: Uint8Array,
  contentType = 'application/gzip',
  query = '',
) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/models/${name}/versions${query}`,
    headers: { ...auth, 'content-type': contentType },
    payload: Buffer.from(archive),
  });
  return { statusCode: res.statusCode, body: res.json() as Record<string, unknown> };
}

export interface Reference {
  promptTokens: number;
  tokens: number[];
  text: string;
  finishReason: 'stop' | 'length';
}

export type Message = { role: string; content: string };

/**
 * transformers.js greedy decoding of `folder` (`root/name`): the chat rendered by the folder's
 * template and tokenized as its text-generation pipeline does (no special tokens added), then
 * `generate` with `max_new_tokens`; text decoded without special tokens. `chatTemplate`: the
 * template to render with (transformers.js's AutoTokenizer does not read `chat_template.jinja`,
 * which Python transformers prefers over the config's).
 */
export async function reference(
  root: string,
  name: string,
  input: { messages: Message[]; chatTemplate?: string } | { prompt: string },
  maxNewTokens: number,
  dtype: 'fp32' | 'q8' = 'fp32',
): Promise<Reference> {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForCausalLM.from_pretrained(name, { dtype });
  try {
    const chat = 'messages' in input;
    const text = chat
      ? (tokenizer.apply_chat_template(input.messages, {
          tokenize: false,
          add_generation_prompt: true,
          chat_template: input.chatTemplate,
        }) as string)
      : input.prompt;
    const inputs = tokenizer(text, { add_special_tokens: !chat });
    const prompt = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const out = (await model.generate({ ...inputs, max_new_tokens: maxNewTokens, do_sample: false })) as {
      data: BigInt64Array;
    };
    const tokens = Array.from(out.data, Number).slice(prompt.length);
    const eos = ([] as number[]).concat(model.generation_config?.eos_token_id ?? []);
    const last = tokens.at(-1);
    const stopped = last !== undefined && eos.includes(last);
    return {
      promptTokens: prompt.length,
      tokens,
      text: tokenizer.decode(tokens, { skip_special_tokens: true }),
      finishReason: stopped ? 'stop' : 'length',
    };
  } finally {
    await model.dispose();
  }
}

/** transformers.js's decode of `ids` by the folder's tokenizer, special tokens skipped. */
export async function referenceDecode(root: string, name: string, ids: number[]): Promise<string> {
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  return tokenizer.decode(ids, { skip_special_tokens: true });
}

/** The `data:` payloads of an SSE body, `[DONE]` excluded. */
export function sseEvents(body: string): Record<string, unknown>[] {
  return body
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice('data: '.length)));
}
