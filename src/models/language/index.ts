/**
 * Language families: `gpt` and `lstm-lm` (text generation), `word2vec` (embeddings). Importing
 * this module registers their runtimes (one row each in src/models/runtimes.ts).
 */
import { registerRuntime } from '../runtimes';
import { gptRuntime } from './gpt';
import { lstmLmRuntime } from './lstm-lm';
import { word2vecRuntime } from './word2vec';

registerRuntime('gpt', gptRuntime);
registerRuntime('lstm-lm', lstmLmRuntime);
registerRuntime('word2vec', word2vecRuntime);

export { loadProse, type ProseSplit, splitProse, unigramBitsPerChar, VALIDATION_SHARE } from './corpus';
export { type GptFamilyConfig, gptRuntime, type TrainedLanguageModel, trainGpt } from './gpt';
export { type LstmFamilyConfig, lstmLmRuntime, trainLstmLm } from './lstm-lm';
export { exportWordVectors, type TrainedWordVectors, trainWord2vec, word2vecRuntime } from './word2vec';
export { type SkipGramOptions, trainSkipGram, type WordVectors } from './word2vec-train';
