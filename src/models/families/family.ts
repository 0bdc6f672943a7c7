/**
 * Model families: one recipe per kind of problem (architecture, default hyperparameters and their
 * validation, which datasets it accepts, how predictions are decoded). The trainer and the API
 * read them from ONE registry (`families`); adding a family is adding a row (see index.ts).
 */
import { fail } from '../../common/errors';
import type { DatasetKind, DataTask } from '../../common/kinds';
import type { FeatureSpec, LoadOptions } from '../../data/index';
import type { ModelSpec } from '../../engine/index';

/** One hyperparameter: its type, range, default and what it does. */
export type HyperparameterRule =
  | { kind: 'int'; min: number; max: number; default: number; doc: string }
  | { kind: 'number'; min: number; max: number; default: number; doc: string }
  | { kind: 'ints'; min: number; max: number; maxLength: number; default: number[]; doc: string }
  | { kind: 'choice'; choices: readonly string[]; default: string; doc: string };

export type Hyperparameters = Record<string, number | number[] | string>;

/** What the family learns from the loaded data to size its model. */
export interface DataShape {
  spec: FeatureSpec;
  /** Per-example input dims: [width] (tabular), [C, H, W] (image), [L] (text). */
  inputDims: number[];
  /** Number of classes; 0 for regression. */
  classes: number;
}

export interface Recipe {
  name: string;
  description: string;
  /** The data layer task that featurizes its datasets. */
  task: DataTask;
  datasetKinds: readonly DatasetKind[];
  /** Family-specific rules; the common ones (epochs, batch_size, ...) are merged in. */
  hyperparameters: Record<string, HyperparameterRule>;
  /** Extra options for `loadForTraining` (e.g. text length, vocabulary size). */
  loadOptions(hp: Hyperparameters): Partial<LoadOptions>;
  /**
   * The model for a loaded dataset: forward → `logits` [N, classes] (classification) or
   * `value` [N, 1] (regression), with loss and metrics. `batchSize` is the static train batch.
   */
  build(shape: DataShape, hp: Hyperparameters, batchSize: number): ModelSpec;
  /** Trains only from an uploaded model named by the job's `base` (never picked by name alone). */
  needsBase?: boolean;
}

/** Hyperparameters every family takes. */
export const commonHyperparameters: Record<string, HyperparameterRule> = {
  epochs: { kind: 'int', min: 1, max: 1000, default: 5, doc: 'Passes over the training split' },
  batch_size: { kind: 'int', min: 1, max: 4096, default: 32, doc: 'Examples per step' },
  learning_rate: { kind: 'number', min: 1e-7, max: 10, default: 1e-3, doc: 'Adam step size' },
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, default: 0, doc: 'Seeds the split, shuffling and init' },
  validation_fraction: {
    kind: 'number',
    min: 0.01,
    max: 0.5,
    default: 0.1,
    doc: 'Share of examples held out for validation',
  },
  lr_schedule: {
    kind: 'choice',
    choices: ['constant', 'cosine'],
    default: 'constant',
    doc: 'constant, or cosine decay from learning_rate to learning_rate/20 over the run',
  },
  checkpoint_every: {
    kind: 'int',
    min: 1,
    max: 1_000_000,
    default: 200,
    doc: 'Steps between checkpoints (one is also written at each epoch end)',
  },
};

function checkRule(field: string, rule: HyperparameterRule, v: unknown): number | number[] | string {
  const bad = (why: string): never => fail('invalid_request', `${field} ${why}`, { pointer: field });
  if (rule.kind === 'choice') {
    if (typeof v !== 'string' || !rule.choices.includes(v)) bad(`must be one of ${rule.choices.join(', ')}`);
    return v as string;
  }
  const inRange = (n: unknown, integer: boolean) =>
    typeof n === 'number' &&
    Number.isFinite(n) &&
    (!integer || Number.isInteger(n)) &&
    n >= rule.min &&
    n <= rule.max;
  if (rule.kind === 'ints') {
    if (!Array.isArray(v) || v.length === 0 || v.length > rule.maxLength || !v.every((n) => inRange(n, true)))
      bad(`must be a list of 1 to ${rule.maxLength} integers in [${rule.min}, ${rule.max}]`);
    return v as number[];
  }
  if (!inRange(v, rule.kind === 'int'))
    bad(`must be ${rule.kind === 'int' ? 'an integer' : 'a number'} in [${rule.min}, ${rule.max}]`);
  return v as number;
}

export function rulesOf(family: Recipe): Record<string, HyperparameterRule> {
  return { ...commonHyperparameters, ...family.hyperparameters };
}

/**
 * Complete and check a request's hyperparameters: unknown names and bad values fail at once with
 * `invalid_request` naming the field (`hyperparameters.learning_rate`).
 */
export function validateHyperparameters(family: Recipe, raw: unknown): Hyperparameters {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
    fail('invalid_request', 'hyperparameters must be an object', { pointer: 'hyperparameters' });
  const rules = rulesOf(family);
  const given = (raw ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(given)) {
    if (!(k in rules))
      fail(
        'invalid_request',
        `hyperparameters.${k.slice(0, 50)} is not a hyperparameter of ${family.name}; known: ${Object.keys(rules).join(', ')}`,
        { pointer: `hyperparameters.${k.slice(0, 50)}` },
      );
  }
  const out: Hyperparameters = {};
  for (const [k, rule] of Object.entries(rules))
    out[k] = k in given ? checkRule(`hyperparameters.${k}`, rule, given[k]) : rule.default;
  return out;
}

/** The registry of families: rejects duplicates; unknown names fail with the list of known ones. */
export class RecipeRegistry {
  private readonly rows = new Map<string, Recipe>();

  register(family: Recipe): void {
    if (this.rows.has(family.name)) throw new Error(`model family ${family.name} is already registered`);
    this.rows.set(family.name, family);
  }

  get(name: string): Recipe {
    const f = this.rows.get(name);
    if (!f)
      fail(
        'invalid_request',
        `unknown family ${JSON.stringify(String(name).slice(0, 50))}; known: ${this.names().join(', ')}`,
        {
          pointer: 'family',
        },
      );
    return f;
  }

  names(): string[] {
    return [...this.rows.keys()];
  }

  /** Families a request can pick by name alone (those that need no base model). */
  standalone(): string[] {
    return this.list()
      .filter((f) => !f.needsBase)
      .map((f) => f.name);
  }

  list(): Recipe[] {
    return [...this.rows.values()];
  }
}
