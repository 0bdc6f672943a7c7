/**
 * What kind of model this is, for choosing its playgrounds: read from the latest version's family
 * (the server picks its serving runtime by the same name, `src/models/runtimes.ts`), else from the
 * model's label (`task`, which a user sets at upload or by PATCH), else from the version's own
 * `metadata.task`. A graph with none of these is a plain tensor model.
 */
import type { ModelDetail } from '../../../src/sdk/client';

export type ModelKind =
  | 'text-generation'
  | 'embeddings'
  | 'image-generation'
  | 'cppn'
  | 'classification'
  | 'tensor';

/** The families this server ships, by what they serve (a family trained here or zoo-made). */
const FAMILY_KIND: Record<string, ModelKind> = {
  gpt: 'text-generation',
  'lstm-lm': 'text-generation',
  'hf-decoder': 'text-generation',
  word2vec: 'embeddings',
  'hf-encoder': 'embeddings',
  cppn: 'cppn',
  'image-gen': 'image-generation',
  mlp: 'classification',
  cnn: 'classification',
  'text-cnn': 'classification',
  onnx: 'classification',
};

/** Model labels (the serving tasks, and the data tasks a classifier is trained for). */
const LABEL_KIND: Record<string, ModelKind> = {
  'text-generation': 'text-generation',
  embeddings: 'embeddings',
  'image-generation': 'image-generation',
  cppn: 'cppn',
  classification: 'classification',
  'text-classification': 'classification',
  image: 'classification',
  tabular: 'classification',
  regression: 'classification',
};

export function kindOf(m: Pick<ModelDetail, 'task' | 'versions'>): ModelKind {
  const meta = m.versions[m.versions.length - 1]?.metadata ?? {};
  const family = typeof meta.family === 'string' ? meta.family : '';
  const task = typeof meta.task === 'string' ? meta.task : '';
  return FAMILY_KIND[family] ?? LABEL_KIND[m.task ?? ''] ?? LABEL_KIND[task] ?? 'tensor';
}
