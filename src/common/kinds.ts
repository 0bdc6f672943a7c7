/**
 * The one list of kinds the layers share (docs/architecture.md, "Vocabulary"). A *recipe* (a
 * trainable family: mlp, cnn, text-cnn, gpt, ...) trains on a *data task* from datasets of some
 * *dataset kinds*; a *serving runtime* (language, vision, tts, classification) serves a version by
 * its `metadata.family`. Public field names and values (`task`, `kind`) are contracts: these lists
 * name them once, they do not rename them.
 */

/** What a stored dataset holds, as `describeDataset` decides it from the bytes. */
export type DatasetKind = 'tabular' | 'image' | 'text' | 'corpus';

/** What a recipe learns from its dataset: rows to a label, images to a label, text to a label, next token. */
export type DataTask = 'tabular' | 'image' | 'text-classification' | 'language-model';

/**
 * What a caller may ask of a model: each serving runtime does one of the first four (its
 * `TaskRuntime.task`), and the built-in speech models do `speech`.
 */
export type ServingTask = 'text-generation' | 'embeddings' | 'image-generation' | 'classification' | 'speech';

/** The serving tasks a registered model's runtime can do (all but the built-in speech). */
export type RuntimeTask = Exclude<ServingTask, 'speech'>;
