/**
 * The text side of a model folder: tokenizer, chat template, end-of-sequence ids and default
 * sampling, read from the folder's own files the way transformers reads them:
 *
 *   tokenizer.json            required; the tokenizer (see tokenizer.ts)
 *   tokenizer_config.json     special tokens (`bos_token`, `eos_token`, … as strings or
 *                             `{content}` objects) and `chat_template` (a string, or a list of
 *                             `{name, template}` where `default` and `tool_use` are chosen)
 *   chat_template.jinja       overrides the config's template when present
 *   special_tokens_map.json   special tokens the config lacks
 *   generation_config.json    `eos_token_id` (a number or a list: every one stops), `do_sample`,
 *                             `temperature`, `top_k`, `top_p`, `repetition_penalty`; absent:
 *                             `config.json`'s `eos_token_id`
 *   genai_config.json         onnxruntime-genai: `model.eos_token_id`, the `search` block
 *
 * A missing required file or a file that is not valid JSON → `invalid_model` naming the file.
 */
import { fail } from '../../common/errors';
import { type ChatTemplate, compileTemplate, type SpecialTokens } from './template';
import { loadTokenizer, type TextTokenizer } from './tokenizer';

/** A folder's file by its path (`tokenizer.json`), or null when the folder has none. */
export type ReadFolderFile = (path: string) => Promise<Uint8Array | null>;

export interface SamplingDefaults {
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
}

export interface TextAssets {
  tokenizer: TextTokenizer;
  /** Null when the folder has no chat template (chat is then refused with a 400). */
  template: ChatTemplate | null;
  /** The file the template came from (`chat_template.jinja` or `tokenizer_config.json`). */
  templateFile: string | null;
  /** Every id that ends generation. */
  eosIds: number[];
  sampling: SamplingDefaults;
}

type Json = Record<string, unknown>;

/** Parse a JSON file of the folder; absent → null unless `required`. */
export async function readJson(read: ReadFolderFile, path: string, required = false): Promise<Json | null> {
  const bytes = await read(path);
  if (!bytes) return required ? fail('invalid_model', `the folder has no ${path}`) : null;
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Json;
  } catch (e) {
    return fail(
      'invalid_model',
      `${path} is not a valid JSON object (${e instanceof Error ? e.message : e})`,
    );
  }
}

/** `'<s>'` or `{content: '<s>'}` → `'<s>'`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  const content = (v as { content?: unknown } | null)?.content;
  return typeof content === 'string' ? content : undefined;
}

const SPECIAL_NAMES = [
  'bos_token',
  'eos_token',
  'unk_token',
  'pad_token',
  'sep_token',
  'cls_token',
  'mask_token',
];

function specialTokens(config: Json | null, map: Json | null): SpecialTokens {
  const out: Record<string, string> = {};
  for (const name of SPECIAL_NAMES) {
    const text = tokenText(config?.[name]) ?? tokenText(map?.[name]);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** The config's `chat_template`: a string, or the `default` entry of a `{name, template}` list. */
function configTemplate(config: Json | null): string | null {
  const raw = config?.chat_template;
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) {
    const named = raw as { name?: unknown; template?: unknown }[];
    const entry = named.find((t) => t?.name === 'default') ?? named[0];
    if (typeof entry?.template === 'string') return entry.template;
  }
  return null;
}

function ids(v: unknown, file: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => Number.isInteger(x) && x >= 0))
    fail('invalid_model', `${file}: eos_token_id must be a token id or a list of them`);
  return list as number[];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function samplingFrom(gen: Json | null): SamplingDefaults {
  if (!gen) return {};
  const sample = gen.do_sample === true;
  return {
    // transformers: do_sample false (its default) is greedy, whatever temperature says.
    temperature: sample ? (num(gen.temperature) ?? 1) : 0,
    topK: sample ? (num(gen.top_k) ?? 50) : undefined,
    topP: sample ? num(gen.top_p) : undefined,
    repetitionPenalty: num(gen.repetition_penalty),
  };
}

/** The genai `search` block in the same terms. */
function genaiSampling(genai: Json | null): SamplingDefaults {
  const search = genai?.search as Json | undefined;
  if (!search) return {};
  return samplingFrom({ ...search, do_sample: search.do_sample === true });
}

export async function loadTextAssets(read: ReadFolderFile): Promise<TextAssets> {
  const tokenizerJson = await readJson(read, 'tokenizer.json', true);
  const tokenizerConfig = await readJson(read, 'tokenizer_config.json');
  const specialMap = await readJson(read, 'special_tokens_map.json');
  const generation = await readJson(read, 'generation_config.json');
  const config = await readJson(read, 'config.json');
  const genai = await readJson(read, 'genai_config.json');
  const tokenizer = loadTokenizer(tokenizerJson, tokenizerConfig ?? {});
  const jinja = await read('chat_template.jinja');
  const source = jinja ? Buffer.from(jinja).toString('utf8') : configTemplate(tokenizerConfig);
  const file = jinja ? 'chat_template.jinja' : 'tokenizer_config.json';
  const specials = specialTokens(tokenizerConfig, specialMap);
  const template = source === null ? null : compileTemplate(source, specials, file);
  const genaiModel = genai?.model as Json | undefined;
  const eos = generation
    ? ids(generation.eos_token_id, 'generation_config.json')
    : ids(config?.eos_token_id, 'config.json');
  const eosIds = [...new Set([...eos, ...ids(genaiModel?.eos_token_id, 'genai_config.json')])];
  const sampling = generation ? samplingFrom(generation) : genaiSampling(genai);
  return { tokenizer, template, templateFile: template ? file : null, eosIds, sampling };
}
