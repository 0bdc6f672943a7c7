/**
 * The data layer's public face: readers, schema inference, featurizers, tokenizers, batching and
 * built-in datasets. Layers above import from here.
 */
export { type BatchCursor, gatherRows, MinibatchIterator, splitIndices } from './batching';
export { getBuiltin, listBuiltins } from './builtin';
export {
  type DatasetDescription,
  type DatasetSource,
  type DescribeOptions,
  describeDataset,
} from './describe';
export type { ImageSpec } from './featurize/image';
export {
  encodeInputs,
  type FeatureSpec,
  parseFeatureSpec,
  rowsFromRecords,
  type TextSpec,
} from './featurize/spec';
export type { TabularSpec } from './featurize/tabular';
export { type ClassTarget, decodeClass, decodeRegression, type TargetSpec } from './featurize/target';
export { type InputWarning, inputWarnings } from './featurize/warnings';
export { decodeImage, encodePng } from './formats/image';
export { chatExampleText } from './formats/openai-finetune';
export { detectFormat } from './formats/registry';
export { type DataLimits, dataLimitSettings, defaultDataLimits } from './limits';
export { Rng } from './rng';
export type { ImageCell } from './table';
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
export { batches, type LoadOptions, loadForTraining, type TrainingData } from './training';
