/**
 * The starting point of a fine-tuning job (`base: "name[:version]"`): an uploaded ONNX image
 * classifier the engine can import. Checked when the job is created (a clear 4xx naming what is
 * wrong) and read again when a trainer starts, pinned to the version resolved at creation.
 */
import { fail } from '../../common/errors';
import { HF_DECODER_FAMILY } from '../../models/hf/index';
import type { VersionRecord } from '../../store/ports';

export interface BaseModel {
  /** `name:version`, as stored in the job's hyperparameters. */
  ref: string;
  name: string;
  version: number;
  /** The model input the images feed, and the file's name for its batch dim. */
  input: { name: string; batchDim: string };
  /** [C, H, W] of one image. */
  itemDims: number[];
  labels: string[] | null;
}

/** `name`, `name:3` or `name:alias` → the name and the version reference (none: latest). */
export function parseBaseRef(raw: unknown): { name: string; ref?: string } {
  if (typeof raw !== 'string' || raw === '' || raw.length > 200)
    fail('invalid_request', 'base must be a model name, optionally with :version', { pointer: 'base' });
  const at = raw.lastIndexOf(':');
  return at < 0 ? { name: raw } : { name: raw.slice(0, at), ref: raw.slice(at + 1) };
}

function refuse(why: string): never {
  return fail('unprocessable', why, { pointer: 'base' });
}

/** What the trainer needs of the version, or a 422 saying why it cannot be fine-tuned. */
export function baseOf(v: VersionRecord): BaseModel {
  const ref = `${v.model}:${v.version}`;
  if (v.metadata.trainable !== true) {
    const missing = v.metadata.missing_ops;
    refuse(
      Array.isArray(missing) && missing.length
        ? `model ${ref} cannot be fine-tuned: the engine cannot import its ops ${missing.join(', ')}`
        : `model ${ref} is not an ONNX file the engine imports (a model folder, or uploaded before imports were recorded)`,
    );
  }
  const inputs = v.signature.inputs;
  if (inputs.length !== 1)
    refuse(`model ${ref} has ${inputs.length} inputs; fine-tuning feeds one image input`);
  const [input] = inputs;
  const [batch, ...item] = input.shape;
  const imageLike =
    input.dtype === 'float32' &&
    item.length === 3 &&
    item.every((d) => typeof d === 'number' && d > 0) &&
    (item[0] === 1 || item[0] === 3);
  if (!imageLike)
    refuse(
      `model ${ref} takes '${input.name}' [${input.shape}] ${input.dtype}; fine-tuning trains image classifiers taking float32 [batch, 1 or 3, height, width]`,
    );
  // An unnamed dynamic dim (-1) is called `<input>_0` by the importer.
  if (typeof batch !== 'string' && batch !== -1)
    refuse(`model ${ref} has a fixed batch of ${batch}: export it with a dynamic batch dim`);
  const labels = v.metadata.labels;
  return {
    ref,
    name: v.model,
    version: v.version,
    input: { name: input.name, batchDim: typeof batch === 'string' ? batch : `${input.name}_0` },
    itemDims: item as number[],
    labels: Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? (labels as string[]) : null,
  };
}

/**
 * A LoRA job's base: an uploaded decoder folder (Hugging Face ONNX layout), or a maas `gpt`
 * version (the zoo's or one trained here), which the trainer writes out as the GPT-2-layout
 * folder `maas models export` gives (`gpt: true`).
 */
export interface DecoderBase {
  ref: string;
  /** The graph's path inside the folder (`onnx/model.onnx`). */
  graphPath: string;
  gpt: boolean;
}

const GPT_FAMILY = 'gpt';

/** `name` is the model as the job names it: another tenant's public model is `owner~name`. */
export function decoderBaseOf(v: VersionRecord, name: string = v.model): DecoderBase {
  const ref = `${name}:${v.version}`;
  if (v.metadata.family === GPT_FAMILY) {
    const tokenizer = (v.metadata.tokenizer as { type?: unknown } | undefined)?.type;
    if (tokenizer !== 'bpe' && tokenizer !== 'char')
      refuse(`model ${ref} is a gpt without a byte-level BPE or character tokenizer: LoRA cannot read it`);
    return { ref, graphPath: 'onnx/model.onnx', gpt: true };
  }
  if (v.metadata.family !== HF_DECODER_FAMILY || typeof v.metadata.graph !== 'string')
    refuse(`model ${ref} is not a decoder (a Hugging Face ONNX folder or a maas gpt): LoRA trains decoders`);
  return { ref, graphPath: v.metadata.graph, gpt: false };
}
