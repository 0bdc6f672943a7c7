/** THE playground table: one row per playground; a model's kind picks which it shows, in order. */
import type { ComponentType } from 'react';
import type { ModelDetail } from '../../../src/sdk/client';
import { ChatPlayground } from './chat';
import { ClassifyPlayground } from './classify';
import { CompletionPlayground } from './completion';
import { CppnExplorer } from './cppn';
import { EmbeddingsPlayground } from './embeddings';
import { ImagePlayground } from './image';
import type { ModelKind } from './kinds';
import { TensorPlayground } from './tensors';

export interface PlaygroundProps {
  model: string;
  detail: ModelDetail;
}

export const PLAYGROUNDS = {
  chat: { label: 'Chat', component: ChatPlayground },
  completion: { label: 'Text completion', component: CompletionPlayground },
  embeddings: { label: 'Embeddings', component: EmbeddingsPlayground },
  cppn: { label: 'CPPN explorer', component: CppnExplorer },
  image: { label: 'Image generation', component: ImagePlayground },
  classify: { label: 'Classify & explain', component: ClassifyPlayground },
  tensors: { label: 'Tensors (KServe v2)', component: TensorPlayground },
} satisfies Record<string, { label: string; component: ComponentType<PlaygroundProps> }>;

export type PlaygroundName = keyof typeof PLAYGROUNDS;

/**
 * Only the playgrounds a kind can use, the best first. Every ONNX graph takes tensors, so the
 * tensor form is always last; a graph of unknown kind may still be a classifier (explain reads
 * its outputs), never a chat or image model.
 */
const BY_KIND: Record<ModelKind, PlaygroundName[]> = {
  'text-generation': ['chat', 'completion', 'tensors'],
  embeddings: ['embeddings', 'tensors'],
  cppn: ['cppn', 'image', 'tensors'],
  'image-generation': ['image', 'tensors'],
  classification: ['classify', 'tensors'],
  tensor: ['tensors', 'classify'],
};

export function playgroundsFor(kind: ModelKind): PlaygroundName[] {
  return BY_KIND[kind];
}
