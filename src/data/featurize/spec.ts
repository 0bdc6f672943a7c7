import type { Tensor } from '../../engine/runtime/tensor';
import { decodeImage } from '../formats/image';
import { badData } from '../problems';
import { cellText } from '../schema';
import type { Cell, Row } from '../table';
import { tokenizerFromSpec } from '../text';
import { encodeBatch, type TokenizerSpec } from '../text/tokenizer';
import { encodeImages, type ImageSpec } from './image';
import { encodeTabular, type TabularSpec } from './tabular';
import type { ClassTarget } from './target';

/** Text classification: one text column → token ids [n, maxLength] (int64), padded with 0. */
export interface TextSpec {
  kind: 'text';
  version: 1;
  column: string;
  tokenizer: TokenizerSpec;
  maxLength: number;
  target?: ClassTarget;
}

/** Language modelling: a corpus → windows of `contextLength` token ids; targets are the next ids. */
export interface LanguageModelSpec {
  kind: 'language-model';
  version: 1;
  tokenizer: TokenizerSpec;
  contextLength: number;
}

/**
 * Everything needed to turn RAW input into the tensor a model was trained on. It is plain JSON:
 * stored beside the trained model, and read back for predictions.
 */
export type FeatureSpec = TabularSpec | ImageSpec | TextSpec | LanguageModelSpec;

type Encoder<S> = (spec: S, rows: readonly Row[]) => Tensor;

function encodeText(spec: TextSpec, rows: readonly Row[]): Tensor {
  const tok = tokenizerFromSpec(spec.tokenizer);
  return encodeBatch(
    tok,
    rows.map((r) => cellText(r.values[spec.column])),
    spec.maxLength,
  );
}

/** Prompts → the LAST `contextLength` tokens of each, padded on the right: int64 [n, contextLength]. */
function encodePrompts(spec: LanguageModelSpec, rows: readonly Row[]): Tensor {
  const tok = tokenizerFromSpec(spec.tokenizer);
  const texts = rows.map((r) => cellText(r.values.text));
  const kept = texts.map((t) => tok.decode(tok.encode(t).slice(-spec.contextLength)));
  return encodeBatch(tok, kept, spec.contextLength);
}

/** Feature kind → its encoder; one row per kind, no switch. */
const encoders: { [K in FeatureSpec['kind']]: Encoder<Extract<FeatureSpec, { kind: K }>> } = {
  tabular: encodeTabular,
  image: encodeImages,
  text: encodeText,
  'language-model': encodePrompts,
};

/** Rows → the model's input tensor, with exactly the training-time preprocessing. */
export function encodeInputs(spec: FeatureSpec, rows: readonly Row[]): Tensor {
  const encode = encoders[spec.kind] as Encoder<FeatureSpec> | undefined;
  if (!encode)
    badData('spec.kind', `unknown feature kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  return encode(spec, rows);
}

/**
 * Raw prediction inputs (as parsed from a request body) → rows: strings and numbers as they are,
 * image bytes (PNG/JPEG, or a `data:image/png;base64,` URL) decoded, null/absent as missing. `where` names each input as `inputs[i]`.
 */
export function rowsFromRecords(records: readonly Record<string, unknown>[]): Row[] {
  return records.map((record, i) => {
    const where = `inputs[${i}]`;
    const values: Record<string, Cell> = {};
    for (const [key, v] of Object.entries(record)) values[key] = toCell(v, `${where}.${key}`);
    return { where, values };
  });
}

/** `data:image/png;base64,...` — how a JSON body carries an image. */
const IMAGE_DATA_URL = /^data:image\/(png|jpeg|jpg);base64,/i;

function toCell(v: unknown, where: string): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' && IMAGE_DATA_URL.test(v)) {
    return decodeImage(Buffer.from(v.slice(v.indexOf(',') + 1), 'base64'), where);
  }
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return decodeImage(v, where);
  badData(where, 'expected a string, a number, null or image bytes');
}

/** Check the shape of a spec read back from storage before trusting it. */
export function parseFeatureSpec(value: unknown): FeatureSpec {
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (typeof value !== 'object' || value === null || typeof kind !== 'string' || !(kind in encoders)) {
    badData('spec', 'not a maas feature spec');
  }
  return value as FeatureSpec;
}
