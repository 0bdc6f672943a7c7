/**
 * The data layer's public face: readers, schema inference, featurizers, tokenizers, batching and
 * built-in datasets. Layers above import from here.
 */
export { type Batch, type BatchCursor, gatherRows, MinibatchIterator, splitIndices } from './batching';
export { type BuiltinDataset, getBuiltin, listBuiltins, registerBuiltin } from './builtin';
export {
  type DatasetDescription,
  type DatasetSource,
  type DescribeOptions,
  describeDataset,
  openSource,
  type PreviewCell,
} from './describe';
export { encodeImages, type ImageSpec } from './featurize/image';
export {
  encodeInputs,
  type FeatureSpec,
  type LanguageModelSpec,
  parseFeatureSpec,
  rowsFromRecords,
  type TextSpec,
} from './featurize/spec';
export { encodeTabular, fitTabular, type TabularSpec } from './featurize/tabular';
export {
  type ClassTarget,
  decodeClass,
  decodeRegression,
  type RegressionTarget,
  type TargetSpec,
} from './featurize/target';
export { type InputWarning, inputWarnings, MAX_WARNINGS } from './featurize/warnings';
export { type ArchiveLimits, defaultArchiveLimits } from './formats/archive';
export { type IdxArray, parseIdx, readIdx } from './formats/idx';
export { decodeImage, encodePng } from './formats/image';
export { type ChatTurn, chatExampleText, contentText } from './formats/openai-finetune';
export { detectFormat, listFormats, type ReadOptions, registerFormat } from './formats/registry';
export { Rng, type RngState } from './rng';
export { type ColumnKind, type ColumnSummary, SchemaBuilder } from './schema';
export type { Cell, ImageCell, Row } from './table';
export { tokenizerFromSpec } from './text';
export { BpeTokenizer, EOS_ID, trainBpe } from './text/bpe';
export { buildCharVocab, CharTokenizer } from './text/char';
export {
  type BpeTokenizerSpec,
  encodeBatch,
  PAD_ID,
  type Tokenizer,
  type TokenizerSpec,
  UNK_ID,
} from './text/tokenizer';
export { buildWordVocab, WordTokenizer } from './text/word';
export {
  type BatchOptions,
  type BatchStream,
  batches,
  type LoadOptions,
  loadForTraining,
  type TrainingData,
  type TrainingTask,
} from './training';
