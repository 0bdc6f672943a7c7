import type { DataTask } from '../common/kinds';
import { type Tensor, zeros } from '../engine/runtime/tensor';
import { type Batch, type BatchCursor, gatherRows, MinibatchIterator, splitIndices } from './batching';
import { type DatasetSource, openSource, type SourceOptions, sourcePath } from './describe';
import { encodeImages, type ImageSpec } from './featurize/image';
import { encodeInputs, type FeatureSpec, type LanguageModelSpec, type TextSpec } from './featurize/spec';
import { encodeTabular, fitTabular, type TabularSpec } from './featurize/tabular';
import { type ClassTarget, encodeTarget, fitTarget } from './featurize/target';
import { readCorpus } from './formats/text';
import { badData, checkRowCap, DEFAULT_MAX_ROWS } from './problems';
import { type ColumnSummary, SchemaBuilder } from './schema';
import type { Row } from './table';
import { tokenizerFromSpec } from './text';
import { trainBpe } from './text/bpe';
import { buildCharVocab } from './text/char';
import type { TokenizerSpec } from './text/tokenizer';
import { buildWordVocab } from './text/word';

export interface LoadOptions extends SourceOptions {
  task: DataTask;
  /** Target column. Default `label` when present (or the built-in's target). */
  target?: string;
  /** Tabular only. Default: class for categorical targets and numeric ones with ≤ 20 integer values. */
  targetKind?: 'class' | 'regression';
  /** Share of examples held out for validation. Default 0.1. */
  validationFraction?: number;
  /** Seeds the split (and nothing else here). Default 0. */
  seed?: number;
  /** Reuse a stored spec (resume, fine-tune) instead of fitting a new one. */
  spec?: FeatureSpec;
  image?: { width?: number; height?: number; channels?: 1 | 3 };
  text?: { column?: string; tokenizer?: 'word' | 'char' | 'bpe'; maxLength?: number; vocabSize?: number };
  languageModel?: { tokenizer?: 'char' | 'bpe'; contextLength?: number; vocabSize?: number };
}

/**
 * A dataset ready to train on: every example featurized once (`inputs[i]`, `targets[i]`), the
 * split as index lists, and the JSON spec to store beside the model.
 */
export interface TrainingData {
  spec: FeatureSpec;
  /** float32 [n, width] (tabular), float32 [n, C, H, W] (image), int64 [n, L] (text, language model). */
  inputs: Tensor;
  /** int64 [n] class ids, float32 [n, 1] standardised values, or int64 [n, L] next tokens. */
  targets: Tensor;
  train: Int32Array;
  validation: Int32Array;
  schema?: ColumnSummary[];
}

interface Prepared {
  spec: FeatureSpec;
  inputs: Tensor;
  targets: Tensor;
  train: Int32Array;
  validation: Int32Array;
}

type RowTask = (rows: Row[], schema: ColumnSummary[], target: string | undefined, o: LoadOptions) => Prepared;

function splitOf(n: number, o: LoadOptions) {
  return splitIndices(n, o.validationFraction ?? 0.1, o.seed ?? 0);
}

function pick(rows: readonly Row[], idx: Int32Array): Row[] {
  return Array.from(idx, (i) => rows[i]);
}

function requireTarget(target: string | undefined, schema: ColumnSummary[]): ColumnSummary {
  const col = schema.find((c) => c.name === target);
  if (!target || !col)
    badData(`column ${JSON.stringify(target ?? '')}`, 'a target column is needed and was not found');
  return col;
}

function classTarget(name: string, rows: readonly Row[]): ClassTarget {
  return fitTarget(name, rows, 'class') as ClassTarget;
}

const tabularTask: RowTask = (rows, schema, target, o) => {
  const col = requireTarget(target, schema);
  const integerLike =
    col.kind === 'numeric' &&
    col.distinct <= 20 &&
    (col.top ?? []).every((t) => Number.isInteger(Number(t.value)));
  const kind = o.targetKind ?? (col.kind !== 'numeric' || integerLike ? 'class' : 'regression');
  const split = splitOf(rows.length, o);
  let spec = o.spec as TabularSpec | undefined;
  if (!spec) {
    spec = fitTabular(pick(rows, split.train), schema, { name: col.name, kind });
    // Class names come from all rows, so a class seen only in validation still has an id.
    if (kind === 'class') spec.target = classTarget(col.name, rows);
  }
  if (!spec.target) badData('spec', 'the stored tabular spec has no target');
  return { spec, inputs: encodeTabular(spec, rows), targets: encodeTarget(spec.target, rows), ...split };
};

const imageTask: RowTask = (rows, schema, target, o) => {
  const col = schema.find((c) => c.kind === 'image');
  if (!col?.image) badData('file', 'no image column');
  const t = requireTarget(target, schema);
  const spec: ImageSpec = (o.spec as ImageSpec | undefined) ?? {
    kind: 'image',
    version: 1,
    column: col.name,
    width: o.image?.width ?? col.image.width,
    height: o.image?.height ?? col.image.height,
    channels: o.image?.channels ?? (col.image.channels === 1 ? 1 : 3),
    layout: 'NCHW',
    target: classTarget(t.name, rows),
  };
  return {
    spec,
    inputs: encodeImages(spec, rows),
    targets: encodeTarget(spec.target!, rows),
    ...splitOf(rows.length, o),
  };
};

function fitTokenizer(kind: 'word' | 'char' | 'bpe', texts: string[], vocabSize?: number): TokenizerSpec {
  if (kind === 'word') return buildWordVocab(texts, { maxSize: vocabSize ?? 20_000 });
  if (kind === 'char') return buildCharVocab(texts, vocabSize ?? 4096);
  return trainBpe(texts.join('\n'), { vocabSize: vocabSize ?? 512 });
}

const textTask: RowTask = (rows, schema, target, o) => {
  const t = requireTarget(target, schema);
  // Free text first; short texts that all differ can look categorical in a small file.
  const candidates = schema.filter((c) => c.name !== t.name);
  const column =
    o.text?.column ??
    (candidates.find((c) => c.kind === 'text') ?? candidates.find((c) => c.kind === 'categorical'))?.name;
  if (!column) badData('file', 'no text column; name one with text.column');
  const split = splitOf(rows.length, o);
  const spec: TextSpec = (o.spec as TextSpec | undefined) ?? {
    kind: 'text',
    version: 1,
    column,
    tokenizer: fitTokenizer(
      o.text?.tokenizer ?? 'word',
      pick(rows, split.train).map((r) => String(r.values[column] ?? '')),
      o.text?.vocabSize,
    ),
    maxLength: o.text?.maxLength ?? 128,
    target: classTarget(t.name, rows),
  };
  return { spec, inputs: encodeInputs(spec, rows), targets: encodeTarget(spec.target!, rows), ...split };
};

/** Task → how rows become tensors. Language models take a corpus instead (below). */
const rowTasks: Record<Exclude<DataTask, 'language-model'>, RowTask> = {
  tabular: tabularTask,
  image: imageTask,
  'text-classification': textTask,
};

/**
 * A corpus → windows of `contextLength` tokens and their next tokens. The LAST share of the
 * text (by characters) is validation, so no validation window overlaps a training one; the
 * tokenizer is fitted on the training part only.
 */
export function prepareLanguageModel(text: string, o: LoadOptions): Prepared {
  const cut = Math.floor(text.length * (1 - (o.validationFraction ?? 0.1)));
  const ctx =
    o.languageModel?.contextLength ?? (o.spec as LanguageModelSpec | undefined)?.contextLength ?? 64;
  const spec: LanguageModelSpec = (o.spec as LanguageModelSpec | undefined) ?? {
    kind: 'language-model',
    version: 1,
    tokenizer: fitTokenizer(
      o.languageModel?.tokenizer ?? 'char',
      [text.slice(0, cut)],
      o.languageModel?.vocabSize,
    ),
    contextLength: ctx,
  };
  const tok = tokenizerFromSpec(spec.tokenizer);
  const trainIds = tok.encode(text.slice(0, cut));
  const valIds = tok.encode(text.slice(cut));
  const windows = (ids: number[]) => Math.max(0, Math.floor((ids.length - 1) / ctx));
  const nTrain = windows(trainIds);
  const nVal = windows(valIds);
  if (nTrain === 0) badData('file', `corpus too short for one window of ${ctx + 1} tokens`);
  const inputs = zeros('int64', [nTrain + nVal, ctx]);
  const targets = zeros('int64', [nTrain + nVal, ctx]);
  const fill = (ids: number[], count: number, first: number) => {
    for (let w = 0; w < count; w++) {
      for (let j = 0; j < ctx; j++) {
        inputs.data[(first + w) * ctx + j] = BigInt(ids[w * ctx + j]);
        targets.data[(first + w) * ctx + j] = BigInt(ids[w * ctx + j + 1]);
      }
    }
  };
  fill(trainIds, nTrain, 0);
  fill(valIds, nVal, nTrain);
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  return { spec, inputs, targets, train: range(0, nTrain), validation: range(nTrain, nTrain + nVal) };
}

/**
 * Read, check, featurize and split a dataset for one training task. Every row is read (up to
 * `maxRows`); a malformed one fails with `invalid_dataset` and its place before any training.
 */
export async function loadForTraining(source: DatasetSource, options: LoadOptions): Promise<TrainingData> {
  const opened = await openSource(source, options);
  if (options.task === 'language-model') {
    const path = sourcePath(source);
    const text =
      opened.corpus ??
      (path !== null && opened.format === 'text' ? await readCorpus(path) : await joinText(opened.rows()));
    return prepareLanguageModel(text, options);
  }
  const task = rowTasks[options.task];
  if (!task) badData('task', `unknown task ${JSON.stringify(options.task)}`);
  const builder = new SchemaBuilder();
  const rows: Row[] = [];
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  for await (const row of opened.rows()) {
    checkRowCap(rows.length + 1, maxRows, row.where);
    builder.add(row);
    rows.push(row);
  }
  if (rows.length < 2) badData('file', 'at least 2 rows are needed to train');
  const names = builder.build().map((c) => c.name);
  const target = options.target ?? opened.target ?? (names.includes('label') ? 'label' : undefined);
  const schema = builder.build(target);
  return { ...task(rows, schema, target, options), schema };
}

/** The `text` column (or the only column) of every row, one per line. */
async function joinText(rows: AsyncIterable<Row>): Promise<string> {
  const parts: string[] = [];
  for await (const row of rows) {
    const cell = row.values.text ?? Object.values(row.values)[0];
    if (typeof cell === 'string') parts.push(cell);
  }
  return parts.join('\n');
}

export interface BatchStream {
  readonly batchesPerEpoch: number;
  /** The next minibatch of tensors, crossing into a reshuffled epoch when one is used up. */
  next(): { epoch: number; inputs: Tensor; targets: Tensor };
  /** Save in a checkpoint; pass back as `cursor` to continue exactly. */
  cursor(): BatchCursor;
}

export interface BatchOptions {
  batchSize: number;
  /** Default 0. */
  seed?: number;
  /** Default: shuffle the training split, keep the validation split in order. */
  shuffle?: boolean;
  dropLast?: boolean;
  cursor?: BatchCursor;
}

/** Minibatches of tensors over one split of a loaded dataset. */
export function batches(data: TrainingData, split: 'train' | 'validation', o: BatchOptions): BatchStream {
  const it = new MinibatchIterator(split === 'train' ? data.train : data.validation, {
    batchSize: o.batchSize,
    seed: o.seed ?? 0,
    shuffle: o.shuffle ?? split === 'train',
    dropLast: o.dropLast,
    cursor: o.cursor,
  });
  const take = (b: Batch) => ({
    epoch: b.epoch,
    inputs: gatherRows(data.inputs, b.indices),
    targets: gatherRows(data.targets, b.indices),
  });
  return { batchesPerEpoch: it.batchesPerEpoch, next: () => take(it.next()), cursor: () => it.cursor() };
}
