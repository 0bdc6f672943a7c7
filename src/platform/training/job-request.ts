/**
 * The body of `POST /api/v1/trainings`, checked before a job row exists: known keys only (no mass
 * assignment), a family and its hyperparameters (or a `base` model to fine-tune), a model name,
 * a dataset the family can train on and a target column it has.
 */
import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import {
  families,
  IMPORTED_FAMILY,
  LORA_FAMILY,
  type Recipe,
  validateHyperparameters,
} from '../../models/families/index';
import type { VersionRecord } from '../../store/ports';
import { baseOf, decoderBaseOf, parseBaseRef } from './base-model';
import type { ResolvedDataset } from './datasets';

const CREATE_KEYS = ['family', 'base', 'dataset', 'validation_dataset', 'target', 'model', 'hyperparameters'];
/** Hyperparameters of a fine-tuning job that are no rule of the family (checked here). */
const NAMES_LIMIT = 10_000;

export interface JobRequest {
  family: string;
  dataset: ResolvedDataset;
  target: string | null;
  model: string;
  hyperparameters: Record<string, unknown>;
}

/** Resolves `base` (`name`, `name:3`, `name:prod`) to one of the caller's versions. */
export type ResolveBase = (name: string, ref?: string) => Promise<VersionRecord>;

/** The target must be a column; without one, the dataset needs a `label` column. */
function checkTarget(columns: string[] | null, target: string | undefined): void {
  if (!columns) return;
  const shown = columns.slice(0, 20).join(', ');
  if (target === undefined && !columns.includes('label'))
    fail('invalid_request', `the dataset has no 'label' column: name the target column (one of ${shown})`, {
      pointer: 'target',
    });
  if (target !== undefined && !columns.includes(target))
    fail('invalid_request', `target '${target.slice(0, 50)}' is not a column (columns: ${shown})`, {
      pointer: 'target',
    });
}

/** `trainable_parameters`: weight names (checked against the model when the trainer imports it). */
function trainableParameters(raw: unknown): string[] {
  const ok =
    Array.isArray(raw) &&
    raw.length <= NAMES_LIMIT &&
    raw.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 500);
  if (!ok)
    fail('invalid_request', 'hyperparameters.trainable_parameters must be a list of weight names', {
      pointer: 'hyperparameters.trainable_parameters',
    });
  // An empty list would fall back to training by layers (all of them by default): not what it says.
  if (raw.length === 0)
    fail(
      'invalid_request',
      'hyperparameters.trainable_parameters names no weight: name at least one, or leave it out to train by layers',
      { pointer: 'hyperparameters.trainable_parameters' },
    );
  return raw as string[];
}

/** A fine-tuning job's own hyperparameters: the family's rules, plus the base and named weights. */
async function baseHyperparameters(
  family: Recipe,
  b: Record<string, unknown>,
  resolveBase: ResolveBase,
): Promise<Record<string, unknown>> {
  if (!family.needsBase)
    fail(
      'invalid_request',
      `family ${family.name} trains from scratch: a base model is fine-tuned with family ${IMPORTED_FAMILY} (classifiers) or ${LORA_FAMILY} (decoders)`,
      { pointer: 'family' },
    );
  const { name, ref } = parseBaseRef(b.base);
  const version = await resolveBase(name, ref);
  const base = family.name === LORA_FAMILY ? decoderBaseOf(version, name) : baseOf(version);
  const raw = b.hyperparameters;
  const given = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...raw } : raw;
  let named: string[] = [];
  if (typeof given === 'object' && given !== null && 'trainable_parameters' in given) {
    named = trainableParameters((given as Record<string, unknown>).trainable_parameters);
    delete (given as Record<string, unknown>).trainable_parameters;
  }
  const hp = validateHyperparameters(family, given);
  if (family.name === LORA_FAMILY) {
    if (named.length)
      fail('invalid_request', 'trainable_parameters: LoRA trains adapters on the attention projections', {
        pointer: 'hyperparameters.trainable_parameters',
      });
    return { ...hp, base: base.ref };
  }
  return { ...hp, base: base.ref, trainable_parameters: named };
}

export async function parseJobRequest(
  body: unknown,
  resolveDataset: (name: string) => Promise<ResolvedDataset>,
  resolveBase: ResolveBase,
): Promise<JobRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('invalid_request', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!CREATE_KEYS.includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`, { pointer: k.slice(0, 50) });
  const family = families.get(String(b.family ?? (b.base !== undefined ? IMPORTED_FAMILY : '')));
  if (family.needsBase && b.base === undefined)
    fail('invalid_request', `family ${family.name} fine-tunes an uploaded model: name it with base`, {
      pointer: 'base',
    });
  const model = parseName(b.model, 'model');
  if (b.target !== undefined && (typeof b.target !== 'string' || b.target.length > 200))
    fail('invalid_request', 'target must be a column name', { pointer: 'target' });
  const hyperparameters =
    b.base !== undefined
      ? await baseHyperparameters(family, b, resolveBase)
      : validateHyperparameters(family, b.hyperparameters);
  if (b.validation_dataset !== undefined) {
    if (family.name !== LORA_FAMILY)
      fail(
        'invalid_request',
        `validation_dataset is for ${LORA_FAMILY} jobs; others hold out validation_fraction`,
        {
          pointer: 'validation_dataset',
        },
      );
    hyperparameters.validation_dataset = (await resolveDataset(String(b.validation_dataset))).name;
  }
  const dataset = await resolveDataset(String(b.dataset ?? ''));
  if (!family.datasetKinds.includes(dataset.kind))
    fail(
      'unprocessable',
      `family ${family.name} trains ${family.datasetKinds.join(' or ')} datasets; '${dataset.name}' is ${dataset.kind}`,
      { pointer: 'dataset' },
    );
  const target = b.target as string | undefined;
  // A LoRA job learns the chats' assistant turns, not a column.
  if (family.name !== LORA_FAMILY) checkTarget(dataset.columns, target);
  return { family: family.name, dataset, target: target ?? null, model, hyperparameters };
}
