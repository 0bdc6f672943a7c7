/**
 * A stored maas `gpt` version (as training and the zoo register it: maas's own graph, its
 * tokenizer spec in the metadata) seen as a Hugging Face-layout folder, so that it is served by
 * the one decoder runtime that serves uploaded folders (src/models/hf). Nothing is rewritten in
 * the user's data folder: the folder's text files are derived from the metadata when the version
 * is loaded, and the stored graph is stepped through a decoder plan in its own names, as
 * onnxruntime-genai folders are through their name maps:
 *
 *   input_ids [1, S], past_key_{i} / past_value_{i} [1, heads, P, head_dim]
 *     → logits [1, S, vocab], present_key_{i} / present_value_{i}
 *
 * (no attention_mask: maas's graph counts positions from the past length itself). A version
 * exported without a cache (`kvCache: false`) gets a plan without layers: the whole window runs
 * every step.
 *
 *   tokenizer.json           byte-level BPE with maas's ids (tokenizer.ts), or the character
 *                            vocabulary (`charTokenizerJson`)
 *   tokenizer_config.json    special tokens
 *   generation_config.json   eos `<|endoftext|>` for BPE (as `maas models export` writes it);
 *                            a character vocabulary has no end token
 *   config.json              GPT-2's field names (model_type `gpt2`)
 */
import { fail } from '../../../common/errors';
import { EOS_ID } from '../../../data/text/bpe';
import type { BpeTokenizerSpec, CharTokenizerSpec } from '../../../data/text/tokenizer';
import type { DecoderPlan } from '../../hf/plan';
import { metaInt } from '../metadata';
import { charTokenizerJson, type HfTokenizer, hfTokenizerJson } from './tokenizer';

export interface GptVersionFolder {
  /** Folder path → bytes of the derived text files. */
  files: ReadonlyMap<string, Uint8Array>;
  plan: DecoderPlan;
  context: number;
  vocabSize: number;
}

type Meta = Readonly<Record<string, unknown>>;

function tokenizerOf(meta: Meta): { tokenizer: HfTokenizer; bpe: boolean } {
  const spec = meta.tokenizer as { type?: unknown } | undefined;
  if (spec?.type === 'bpe') return { tokenizer: hfTokenizerJson(spec as BpeTokenizerSpec), bpe: true };
  if (spec?.type === 'char' && Array.isArray((spec as CharTokenizerSpec).chars))
    return { tokenizer: charTokenizerJson(spec as CharTokenizerSpec), bpe: false };
  return fail('unsupported_model', "gpt metadata 'tokenizer' must be a byte-level BPE or a character spec");
}

/** maas's graph names, layer by layer (`exportGpt`). */
function maasPlan(meta: Meta, layers: number): DecoderPlan {
  const cached = meta.kvCache !== false;
  return {
    inputIds: 'input_ids',
    attentionMask: null,
    positionIds: null,
    numLogitsToKeep: null,
    useCacheBranch: null,
    logits: 'logits',
    layers: cached
      ? Array.from({ length: layers }, (_, i) => ({
          pastKey: `past_key_${i}`,
          pastValue: `past_value_${i}`,
          presentKey: `present_key_${i}`,
          presentValue: `present_value_${i}`,
        }))
      : [],
    kvHeads: metaInt(meta, 'heads'),
    headDim: metaInt(meta, 'headDim'),
  };
}

const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);

export function gptVersionFolder(meta: Meta): GptVersionFolder {
  const context = metaInt(meta, 'context', 2);
  const layers = metaInt(meta, 'layers');
  const { tokenizer, bpe } = tokenizerOf(meta);
  const eos = bpe ? { eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' } : {};
  const files = new Map<string, Uint8Array>([
    ['tokenizer.json', json(tokenizer.json)],
    [
      'tokenizer_config.json',
      json({
        ...eos,
        pad_token: '<pad>',
        unk_token: '<unk>',
        model_max_length: context,
        // maas's tokenizers decode exactly what was encoded ("gare ?" stays "gare ?").
        clean_up_tokenization_spaces: false,
      }),
    ],
    ['generation_config.json', json(bpe ? { bos_token_id: EOS_ID, eos_token_id: EOS_ID } : {})],
    [
      'config.json',
      json({
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: tokenizer.vocabSize,
        n_embd: metaInt(meta, 'heads') * metaInt(meta, 'headDim'),
        n_head: metaInt(meta, 'heads'),
        n_layer: layers,
        n_positions: context,
      }),
    ],
  ]);
  return { files, plan: maasPlan(meta, layers), context, vocabSize: tokenizer.vocabSize };
}
