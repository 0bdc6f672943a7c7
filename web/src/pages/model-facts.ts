/**
 * What a version's metadata says about where it came from and how good it is, in rows a page can
 * show. A version trained here keeps its lineage under `metadata.lineage` (`{job, dataset, base,
 * seed, steps, …}`, src/platform/training/results.ts; a quantized one `quantized_from`), its
 * figures under `metrics` (with whole loss curves and a confusion matrix) and a zoo model its
 * `quality`; an uploaded folder lists its `files: [{path, sizeBytes}]`.
 */
import { href } from '../router';

export interface Fact {
  label: string;
  value: string;
  /** A console page about it (the dataset, the training job), when the viewer can open it. */
  link?: string;
}

type Meta = Record<string, unknown>;

const isRecord = (v: unknown): v is Meta => typeof v === 'object' && v !== null && !Array.isArray(v);

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 120);

/** Family, dataset, job, base model and the rest of `lineage`; links only for the owner's own. */
export function lineageFacts(meta: Meta, own: boolean): Fact[] {
  const lineage = isRecord(meta.lineage) ? meta.lineage : {};
  const facts: Fact[] = [];
  if (typeof meta.family === 'string') facts.push({ label: 'family', value: meta.family });
  if (typeof lineage.dataset === 'string')
    facts.push({
      label: 'dataset',
      value: lineage.dataset,
      ...(own ? { link: href('datasets', lineage.dataset) } : {}),
    });
  if (typeof lineage.job === 'string')
    facts.push({
      label: 'training job',
      value: lineage.job,
      ...(own ? { link: href('trainings', lineage.job) } : {}),
    });
  const from = lineage.quantized_from;
  if (isRecord(from)) facts.push({ label: 'quantized from', value: `version ${text(from.version)}` });
  for (const k of ['base', 'seed', 'steps', 'resumedFrom'])
    if (lineage[k] !== undefined && lineage[k] !== null) facts.push({ label: k, value: text(lineage[k]) });
  if (typeof meta.source === 'string') facts.push({ label: 'source', value: meta.source });
  return facts;
}

/** The single figures of `quality` or `metrics` (numbers rounded); curves and matrices left out. */
export function qualityFacts(meta: Meta): Fact[] {
  const figures = isRecord(meta.quality) ? meta.quality : isRecord(meta.metrics) ? meta.metrics : {};
  const facts: Fact[] = [];
  for (const [label, v] of Object.entries(figures)) {
    if (typeof v === 'number') facts.push({ label, value: Number.isInteger(v) ? String(v) : v.toFixed(4) });
    else if (typeof v === 'string' || typeof v === 'boolean') facts.push({ label, value: String(v) });
  }
  return facts;
}

/** The files of an uploaded folder, by path, with their sizes. */
export function fileFacts(meta: Meta, size: (n: number) => string): Fact[] {
  const files = Array.isArray(meta.files) ? meta.files : [];
  return files.filter(isRecord).map((f) => ({
    label: text(f.path),
    value: typeof f.sizeBytes === 'number' ? size(f.sizeBytes) : '',
  }));
}
