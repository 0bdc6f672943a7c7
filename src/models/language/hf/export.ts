/**
 * A stored decoder version as a Hugging Face folder (`maas models export`). One exporter per
 * family, keyed by the version's `metadata.family`:
 *
 * - `gpt` (maas-trained, the zoo's included): the weights are read back from the stored graph by
 *   their parameter names, the GPT is rebuilt and emitted in the GPT-2 layout (gpt2.ts), its
 *   byte-level BPE or its character vocabulary written as `tokenizer.json` with maas's ids
 *   (tokenizer.ts).
 *
 * A family without an exporter is a 400 that says so.
 */
import { fail } from '../../../common/errors';
import { EOS_ID } from '../../../data/text/bpe';
import type { BpeTokenizerSpec, CharTokenizerSpec } from '../../../data/text/tokenizer';
import { readInitializers } from '../../../engine/index';
import { type Gpt, gptModel } from '../../../nn/gpt';
import { metaInt } from '../metadata';
import type { HfFolder } from './folder';
import { exportGpt2Layout, gpt2HfConfig } from './gpt2';
import { charTokenizerJson, hfTokenizerJson } from './tokenizer';

type Exporter = (onnx: Uint8Array, metadata: Record<string, unknown>) => HfFolder;

/**
 * The GPT whose weights `onnx` holds (any of `exportGpt`'s graphs: maas names initializers after
 * the parameters). Sizes come from the weights' shapes; `heads` from the metadata.
 */
export function gptFromOnnx(onnx: Uint8Array, heads: number): Gpt {
  const weights = readInitializers(onnx);
  const dims = (name: string) =>
    weights.get(name)?.dims ?? fail('unsupported_model', `the graph has no weight '${name}'`);
  const [vocab, dim] = dims('wte.weight');
  const [context] = dims('wpe.weight');
  let layers = 0;
  while (weights.has(`h${layers}.fc1.weight`)) layers++;
  const hidden = dims('h0.fc1.weight')[1];
  const model = gptModel({ vocab, context, layers, dim, heads, mlpRatio: hidden / dim });
  for (const p of model.params) {
    const w = weights.get(p.name) ?? fail('unsupported_model', `the graph has no weight '${p.name}'`);
    const data = p.value.data as Float32Array;
    if (w.values.length !== data.length)
      fail('unsupported_model', `weight '${p.name}' has ${w.values.length} values, expected ${data.length}`);
    for (let i = 0; i < data.length; i++) data[i] = Number(w.values[i]);
  }
  return model;
}

/**
 * A maas GPT and its tokenizer as a folder. Byte-level BPE: eos and bos are `<|endoftext|>`. A
 * character vocabulary (tokenizer.ts's `charTokenizerJson`) has no end token: generation runs to
 * `max_new_tokens` or the context. No chat template.
 */
export function gptHfFolder(model: Gpt, spec: BpeTokenizerSpec | CharTokenizerSpec): HfFolder {
  const bpe = spec.type === 'bpe';
  const tokenizer = bpe ? hfTokenizerJson(spec) : charTokenizerJson(spec);
  if (tokenizer.vocabSize !== model.config.vocab)
    fail(
      'unsupported_model',
      `the tokenizer has ${tokenizer.vocabSize} tokens, the model ${model.config.vocab}`,
    );
  const config = gpt2HfConfig(model, { bos: EOS_ID, eos: EOS_ID });
  if (!bpe) {
    delete config.bos_token_id;
    delete config.eos_token_id;
  }
  return {
    config,
    generationConfig: bpe ? { bos_token_id: EOS_ID, eos_token_id: EOS_ID } : {},
    tokenizer,
    specialTokens: bpe
      ? { bos: '<|endoftext|>', eos: '<|endoftext|>', pad: '<pad>' }
      : { bos: null, eos: null, pad: '<pad>' },
    maxLength: model.config.context,
    onnx: exportGpt2Layout(model),
  };
}

const exporters: Record<string, Exporter> = {
  gpt(onnx, metadata) {
    const spec = metadata.tokenizer as { type?: string } | undefined;
    if (spec?.type !== 'bpe' && spec?.type !== 'char')
      fail('invalid_request', 'only gpt versions with a byte-level BPE or character tokenizer export');
    return gptHfFolder(
      gptFromOnnx(onnx, metaInt(metadata, 'heads')),
      spec as BpeTokenizerSpec | CharTokenizerSpec,
    );
  },
};

/** The Hugging Face folder of a stored version (its graph bytes and metadata). */
export function hfFolderOfVersion(onnx: Uint8Array, metadata: Record<string, unknown>): HfFolder {
  const family = typeof metadata.family === 'string' ? metadata.family : '';
  const exporter = Object.hasOwn(exporters, family) ? exporters[family] : undefined;
  if (!exporter)
    fail(
      'invalid_request',
      `only decoder versions export as a Hugging Face folder (families: ${Object.keys(exporters).join(', ')}); this version's family is '${family || 'none'}'`,
    );
  return exporter(onnx, metadata);
}
