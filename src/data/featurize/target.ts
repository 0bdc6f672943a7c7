import { type Tensor, zeros } from '../../engine/runtime/tensor';
import { badData } from '../problems';
import { cellText, isMissing, parseNumber } from '../schema';
import type { Cell, Row } from '../table';

/** A classification target: class names in id order. */
export interface ClassTarget {
  name: string;
  kind: 'class';
  classes: string[];
}

/** A regression target, standardised: the model learns (y − mean) / std. */
export interface RegressionTarget {
  name: string;
  kind: 'regression';
  mean: number;
  std: number;
}

export type TargetSpec = ClassTarget | RegressionTarget;

/** Classes sorted so that "2" < "10" when all are numbers, else alphabetically. */
export function sortClasses(values: Iterable<string>): string[] {
  const all = [...new Set(values)];
  const numeric = all.every((v) => parseNumber(v) !== null);
  return all.sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

export function fitTarget(name: string, rows: readonly Row[], kind: 'class' | 'regression'): TargetSpec {
  const present = rows.filter((r) => !isMissing(r.values[name]));
  if (present.length === 0) badData(`column ${JSON.stringify(name)}`, 'the target column has no values');
  if (kind === 'class')
    return { name, kind, classes: sortClasses(present.map((r) => cellText(r.values[name]))) };
  let sum = 0;
  let sumSq = 0;
  for (const r of present) {
    const y = parseNumber(r.values[name]);
    if (y === null)
      badData(
        r.where,
        `target ${JSON.stringify(name)} is not a number: ${JSON.stringify(cellText(r.values[name]))}`,
      );
    sum += y;
    sumSq += y * y;
  }
  const mean = sum / present.length;
  const std = Math.sqrt(Math.max(0, sumSq / present.length - mean * mean)) || 1;
  return { name, kind, mean, std };
}

/** Targets as int64 class ids [n] or float32 standardised values [n, 1]. Missing targets are refused. */
export function encodeTarget(spec: TargetSpec, rows: readonly Row[]): Tensor {
  if (spec.kind === 'class') {
    const ids = new Map(spec.classes.map((c, i) => [c, i]));
    const t = zeros('int64', [rows.length]);
    rows.forEach((r, i) => {
      const id = ids.get(targetText(spec.name, r));
      if (id === undefined)
        badData(r.where, `unknown class ${JSON.stringify(cellText(r.values[spec.name]))}`);
      t.data[i] = BigInt(id);
    });
    return t;
  }
  const t = zeros('float32', [rows.length, 1]);
  rows.forEach((r, i) => {
    const y = parseNumber(r.values[spec.name]);
    if (y === null) badData(r.where, `target ${JSON.stringify(spec.name)} is not a number`);
    t.data[i] = (y - spec.mean) / spec.std;
  });
  return t;
}

function targetText(name: string, row: Row): string {
  const cell: Cell | undefined = row.values[name];
  if (isMissing(cell)) badData(row.where, `target ${JSON.stringify(name)} is missing`);
  return cellText(cell);
}

/** Model output back to the user's terms: a class name, or a value on the original scale. */
export function decodeClass(spec: ClassTarget, id: number): string {
  return spec.classes[id] ?? `class ${id}`;
}

export function decodeRegression(spec: RegressionTarget, value: number): number {
  return value * spec.std + spec.mean;
}
