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

export { loadProse, type ProseSplit, splitProse } from './corpus';
export { type GptFamilyConfig, type TrainedLanguageModel, trainGpt } from './gpt';
export { type LstmFamilyConfig, trainLstmLm } from './lstm-lm';
export { exportWordVectors, trainWord2vec } from './word2vec';
export type { SkipGramOptions } from './word2vec-train';
