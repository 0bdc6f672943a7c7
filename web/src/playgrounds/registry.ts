/** THE playground table: one row per playground; a model's kind picks which come first. */
import type { ComponentType } from 'react';
import type { ModelDetail } from '../../../src/sdk/client';
import { ChatPlayground } from './chat';
import { ClassifyPlayground } from './classify';
import { ImagePlayground } from './image';
import { TensorPlayground } from './tensors';

export interface PlaygroundProps {
  model: string;
  detail: ModelDetail;
}

export const PLAYGROUNDS = {
  chat: { label: 'Chat', component: ChatPlayground },
  image: { label: 'Image generation', component: ImagePlayground },
  classify: { label: 'Classify & explain', component: ClassifyPlayground },
  tensors: { label: 'Tensors (KServe v2)', component: TensorPlayground },
} satisfies Record<string, { label: string; component: ComponentType<PlaygroundProps> }>;

export type PlaygroundName = keyof typeof PLAYGROUNDS;

/** Which come first by the model's task; uploaded graphs without one start with the tensor form. */
const BY_TASK: Record<string, PlaygroundName[]> = {
  'text-generation': ['chat', 'tensors'],
  'image-generation': ['image', 'tensors'],
  classification: ['classify', 'tensors'],
  'text-classification': ['classify', 'tensors'],
  image: ['classify', 'tensors'],
  tabular: ['classify', 'tensors'],
};

/** Every playground, those that fit the task first (a graph's task is not always known). */
export function playgroundsFor(task: string | null): PlaygroundName[] {
  const first = BY_TASK[task ?? ''] ?? ['tensors', 'classify'];
  const rest = (Object.keys(PLAYGROUNDS) as PlaygroundName[]).filter((p) => !first.includes(p));
  return [...first, ...rest];
}
