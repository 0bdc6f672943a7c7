/**
 * How to run a published text-encoder graph (BERT, MiniLM, BGE, E5, … as optimum and
 * transformers.js export them) and pool its output into one vector per text:
 *
 *   inputs   input_ids [b, s] int64, attention_mask [b, s] int64, token_type_ids [b, s] int64
 *            (optional: RoBERTa-style exports have none)
 *   outputs  last_hidden_state [b, s, hidden] (sentence-transformers exports: token_embeddings)
 *
 * Pooling follows sentence-transformers: `modules.json` lists the modules; its Pooling module's
 * folder (`1_Pooling/config.json`) says the mode (`pooling_mode_cls_token`, `…_mean_tokens`,
 * `…_max_tokens`, `…_mean_sqrt_len_tokens`, `…_lasttoken`; several are concatenated in that
 * order), and a Normalize module makes every vector length 1. A folder without `modules.json`
 * is mean-pooled without normalisation (transformers.js feature-extraction's `pooling: 'mean'`).
 *
 * The plan is stored in the version's metadata, so serving never re-reads the graph.
 */
import { fail } from '../../common/errors';
import { type ReadFolderFile, readJson } from './assets';
import type { GraphValue } from './plan';

export type PoolingMode = 'cls' | 'max' | 'mean' | 'mean_sqrt_len' | 'lasttoken';

export interface EncoderPlan {
  inputIds: string;
  attentionMask: string;
  tokenTypeIds: string | null;
  output: string;
  hidden: number;
  pooling: PoolingMode[];
  normalize: boolean;
}

const OUTPUTS = ['last_hidden_state', 'token_embeddings'];
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids']);

/** Whether the graph is an encoder (a hidden-state output, no KV cache), not a decoder. */
export function isEncoderGraph(inputs: readonly GraphValue[], outputs: readonly GraphValue[]): boolean {
  return (
    outputs.some((o) => OUTPUTS.includes(o.name)) &&
    !inputs.some((i) => i.name.startsWith('past_key_values')) &&
    !outputs.some((o) => o.name === 'logits')
  );
}

/** sentence-transformers' config keys, in the order its Pooling module concatenates them. */
const MODE_KEYS: [string, PoolingMode][] = [
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len'],
  ['pooling_mode_lasttoken', 'lasttoken'],
];

type Json = Record<string, unknown>;

/** The pooling modes and normalisation of a folder (see the file comment). */
export async function readPooling(
  read: ReadFolderFile,
): Promise<{ pooling: PoolingMode[]; normalize: boolean }> {
  const modules = await read('modules.json');
  if (!modules) return { pooling: ['mean'], normalize: false };
  let list: Json[];
  try {
    const parsed: unknown = JSON.parse(Buffer.from(modules).toString('utf8'));
    if (!Array.isArray(parsed)) throw new Error('not a list of modules');
    list = parsed as Json[];
  } catch (e) {
    return fail(
      'invalid_model',
      `modules.json is not a valid module list (${e instanceof Error ? e.message : e})`,
    );
  }
  const type = (m: Json) => (typeof m?.type === 'string' ? m.type : '');
  const normalize = list.some((m) => type(m).endsWith('.Normalize'));
  const poolingModule = list.find((m) => type(m).endsWith('.Pooling'));
  if (!poolingModule) return { pooling: ['mean'], normalize };
  const folder = typeof poolingModule.path === 'string' ? poolingModule.path.replace(/\/+$/, '') : '';
  const file = folder ? `${folder}/config.json` : 'config.json';
  const config = (await readJson(read, file, true)) as Json;
  if (config.pooling_mode_weightedmean_tokens === true)
    fail('unsupported_model', `${file}: pooling_mode_weightedmean_tokens is not supported`);
  const pooling = MODE_KEYS.filter(([key]) => config[key] === true).map(([, mode]) => mode);
  if (pooling.length === 0) fail('invalid_model', `${file} turns on no pooling mode`);
  return { pooling, normalize };
}

/** The plan of an encoder graph; an input it cannot feed or a missing output → 400 naming it. */
export function planEncoder(
  inputs: readonly GraphValue[],
  outputs: readonly GraphValue[],
  config: Json | null,
  pooling: { pooling: PoolingMode[]; normalize: boolean },
): EncoderPlan {
  for (const i of inputs) {
    if (!KNOWN_INPUTS.has(i.name))
      fail('unsupported_model', `the encoder graph takes '${i.name.slice(0, 100)}', which maas cannot feed`);
    if (i.dtype !== 'int64')
      fail('unsupported_model', `the encoder input '${i.name}' is ${i.dtype}, not int64`);
  }
  const has = (name: string) => inputs.some((i) => i.name === name);
  if (!has('input_ids') || !has('attention_mask'))
    fail('unsupported_model', 'the encoder graph must take input_ids and attention_mask');
  const output = outputs.find((o) => OUTPUTS.includes(o.name))!;
  if (output.dtype !== 'float32')
    fail(
      'unsupported_model',
      `the encoder output '${output.name}' is ${output.dtype}; only float32 is served`,
    );
  const last = output.shape[output.shape.length - 1];
  const fromConfig = config?.hidden_size ?? config?.dim ?? config?.d_model;
  const hidden =
    typeof last === 'number' && last > 0
      ? last
      : typeof fromConfig === 'number' && Number.isInteger(fromConfig) && fromConfig > 0
        ? fromConfig
        : fail(
            'unsupported_model',
            'the hidden size is neither in the graph nor in config.json (hidden_size)',
          );
  return {
    inputIds: 'input_ids',
    attentionMask: 'attention_mask',
    tokenTypeIds: has('token_type_ids') ? 'token_type_ids' : null,
    output: output.name,
    hidden,
    ...pooling,
  };
}
