/**
 * Vision families: `cppn` (generative art) and `image-gen` (class-conditional digits), their
 * zoo builders, the digit classifier that judges them, and saliency explanations. Importing this
 * module registers both runtimes (src/models/index.ts should import it once).
 */
import { registerRuntime } from '../runtimes';
import { cppnRuntime } from './cppn-runtime';
import { imageGenRuntime } from './image-gen-runtime';

registerRuntime('cppn', cppnRuntime);
registerRuntime('image-gen', imageGenRuntime);

export { type CppnMetadata, type CppnOptions, cppnActivationNames, createCppnModel } from './cppn';
export { type CppnRenderOptions, cppnRuntime, renderCppn } from './cppn-runtime';
export {
  type DigitData,
  digitBatch,
  loadDigits,
  loadImageClasses,
  type TrainedClassifier,
  trainDigitClassifier,
} from './digits';
export {
  type ImageGenMetadata,
  type ImageGenOptions,
  type TrainedImageGen,
  trainImageGen,
} from './image-gen';
export { imageGenRuntime } from './image-gen-runtime';
export { paletteNames, registerPalette } from './palettes';
export { type ClassVocabulary, classFromPrompt, classVocabulary, digitVocabulary } from './prompt';
export { measureRecognition, type Recognition, sampleGrid } from './quality';
export {
  buildSaliencyModel,
  type ImageClassifierDefinition,
  type ImageExplanation,
  imageExplainer,
} from './saliency';
export { buildTextSaliencyModel, type TextClassifierDefinition, textExplainer } from './text-saliency';
