/**
 * Explanations of classifiers: THE table of explainable families (one row each: how to build a
 * version's saliency graph from its stored weights, and how to run it). The platform looks a
 * version's `metadata.family` up here; a family without a row cannot be explained.
 *
 *   const row = explainerFor('cnn');
 *   const onnx = row.buildSaliency(version.metadata, modelBytes);     // role 'saliency'
 *   const e = await row.create({ run, metadata, runArtifact }).explain({ input: dataUrl });
 */
import { imageExplainerRow } from './image';
import { IMPORTED, importedExplainerRow } from './imported';
import { tabularExplainerRow } from './tabular';
import { textExplainerRow } from './text';
import type { ExplainerRow } from './types';

const rows = new Map<string, ExplainerRow>();

export function registerExplainer(row: ExplainerRow): void {
  if (rows.has(row.family)) throw new Error(`an explainer for family '${row.family}' is already registered`);
  rows.set(row.family, row);
}

export function explainerFor(family: string): ExplainerRow | undefined {
  return rows.get(family);
}

/**
 * The explainer row key of a version: its family (trained by maas, or the zoo), or `onnx` for an
 * uploaded graph the engine can import (`metadata.trainable`, recorded at upload).
 */
export function explainKey(metadata: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof metadata.family === 'string') return metadata.family;
  return metadata.trainable === true ? IMPORTED : undefined;
}

/**
 * Builders of a version's derived ONNX artifacts, by family and role (`saliency`): what the task
 * service's `runArtifact(role)` runs.
 */
export function derivedArtifactBuilder(
  family: string,
  role: string,
): ((metadata: Readonly<Record<string, unknown>>, onnx: Uint8Array) => Uint8Array) | undefined {
  const row = rows.get(family);
  if (!row || !role.startsWith('saliency')) return undefined;
  return (metadata, onnx) => row.buildSaliency(metadata, onnx, role);
}

registerExplainer(imageExplainerRow);
registerExplainer(textExplainerRow);
registerExplainer(tabularExplainerRow);
registerExplainer(importedExplainerRow);

export type { Explainer, ExplainerRow, ExplainRequest, Explanation } from './types';
