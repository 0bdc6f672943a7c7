import { type Tensor, zeros } from '../../engine/runtime/tensor';
import { badData } from '../problems';
import { type ColumnSummary, cellText, isMissing, parseNumber } from '../schema';
import type { Row } from '../table';
import { fitTarget, type TargetSpec } from './target';

/** A numeric column, standardised with training-set statistics; a missing value becomes 0 (the mean). */
export interface NumericFeature {
  name: string;
  kind: 'numeric';
  mean: number;
  std: number;
}

/**
 * A categorical column, one-hot over the training categories plus one final "unknown" slot that
 * also takes missing values and categories first seen at prediction time.
 */
export interface CategoricalFeature {
  name: string;
  kind: 'categorical';
  categories: string[];
}

export type TabularFeature = NumericFeature | CategoricalFeature;

export interface TabularSpec {
  kind: 'tabular';
  version: 1;
  features: TabularFeature[];
  /** Input width: one per numeric feature, categories + 1 per categorical one. */
  width: number;
  /** Columns left out (free text, images, ids), so a reader of the spec knows they were seen. */
  ignored: string[];
  target?: TargetSpec;
}

/** Most categories one-hot encoded per column; rarer ones fall in the unknown slot. */
export const MAX_CATEGORIES = 200;

export function featureWidth(f: TabularFeature): number {
  return f.kind === 'numeric' ? 1 : f.categories.length + 1;
}

/**
 * Fit the tabular preprocessing on TRAINING rows only (no leakage from validation rows). Column
 * kinds come from the inferred schema; the target, if any, is left out of the inputs.
 */
export function fitTabular(
  rows: readonly Row[],
  schema: readonly ColumnSummary[],
  target?: { name: string; kind: 'class' | 'regression' },
): TabularSpec {
  const features: TabularFeature[] = [];
  const ignored: string[] = [];
  for (const col of schema) {
    if (col.name === target?.name) continue;
    if (col.kind === 'numeric') features.push(fitNumeric(col.name, rows));
    else if (col.kind === 'categorical') features.push(fitCategorical(col.name, rows));
    else ignored.push(col.name);
  }
  if (features.length === 0) badData('file', 'no numeric or categorical input columns to learn from');
  const spec: TabularSpec = { kind: 'tabular', version: 1, features, width: 0, ignored };
  spec.width = features.reduce((n, f) => n + featureWidth(f), 0);
  if (target) spec.target = fitTarget(target.name, rows, target.kind);
  return spec;
}

function fitNumeric(name: string, rows: readonly Row[]): NumericFeature {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (const r of rows) {
    const v = parseNumber(r.values[name]);
    if (v === null) continue;
    n++;
    sum += v;
    sumSq += v * v;
  }
  const mean = n > 0 ? sum / n : 0;
  // A constant column gets std 1 so that it maps to 0 instead of dividing by zero.
  const std = Math.sqrt(Math.max(0, n > 0 ? sumSq / n - mean * mean : 0)) || 1;
  return { name, kind: 'numeric', mean, std };
}

function fitCategorical(name: string, rows: readonly Row[]): CategoricalFeature {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (isMissing(r.values[name])) continue;
    const v = cellText(r.values[name]);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const categories = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, MAX_CATEGORIES)
    .map(([v]) => v)
    .sort();
  return { name, kind: 'categorical', categories };
}

/**
 * Raw rows → float32 [n, width], exactly as at training time. Used for training batches and for
 * predictions on raw input (`{"age": "41", "city": "Oslo"}`); a numeric cell that is not a
 * number is refused with its row's place.
 */
export function encodeTabular(spec: TabularSpec, rows: readonly Row[]): Tensor<'float32'> {
  const t = zeros('float32', [rows.length, spec.width]);
  const lookups = spec.features.map((f) =>
    f.kind === 'categorical' ? new Map(f.categories.map((c, i) => [c, i])) : null,
  );
  rows.forEach((row, r) => {
    let at = r * spec.width;
    spec.features.forEach((f, k) => {
      const cell = row.values[f.name];
      if (f.kind === 'numeric') {
        const v = isMissing(cell) ? f.mean : parseNumber(cell);
        if (v === null)
          badData(
            row.where,
            `column ${JSON.stringify(f.name)}: expected a number, got ${JSON.stringify(cellText(cell))}`,
          );
        t.data[at++] = (v - f.mean) / f.std;
        return;
      }
      const id = isMissing(cell) ? undefined : lookups[k]!.get(cellText(cell));
      t.data[at + (id ?? f.categories.length)] = 1;
      at += f.categories.length + 1;
    });
  });
  return t;
}
