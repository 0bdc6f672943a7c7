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

export { createCppnModel } from './cppn';
export {
  type DigitData,
  loadDigits,
  loadImageClasses,
  type TrainedClassifier,
  trainDigitClassifier,
} from './digits';
export { type ImageGenOptions, trainImageGen } from './image-gen';
export { imageGenRuntime } from './image-gen-runtime';
export { measureRecognition, sampleGrid } from './quality';
