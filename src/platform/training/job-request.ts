/**
 * The body of `POST /api/v1/trainings`, checked before a job row exists: known keys only (no mass
 * assignment), a family and its hyperparameters, a model name, a dataset the family can train on
 * and a target column it has.
 */
import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import { families, validateHyperparameters } from '../../models/families/index';
import type { ResolvedDataset } from './datasets';

const CREATE_KEYS = ['family', 'dataset', 'target', 'model', 'hyperparameters'];

export interface JobRequest {
  family: string;
  dataset: ResolvedDataset;
  target: string | null;
  model: string;
  hyperparameters: Record<string, unknown>;
}

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

export async function parseJobRequest(
  body: unknown,
  resolveDataset: (name: string) => Promise<ResolvedDataset>,
): Promise<JobRequest> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('invalid_request', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!CREATE_KEYS.includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`, { pointer: k.slice(0, 50) });
  const family = families.get(String(b.family ?? ''));
  const model = parseName(b.model, 'model');
  if (b.target !== undefined && (typeof b.target !== 'string' || b.target.length > 200))
    fail('invalid_request', 'target must be a column name', { pointer: 'target' });
  const hyperparameters = validateHyperparameters(family, b.hyperparameters);
  const dataset = await resolveDataset(String(b.dataset ?? ''));
  if (!family.datasetKinds.includes(dataset.kind))
    fail(
      'unprocessable',
      `family ${family.name} trains ${family.datasetKinds.join(' or ')} datasets; '${dataset.name}' is ${dataset.kind}`,
      { pointer: 'dataset' },
    );
  const target = b.target as string | undefined;
  checkTarget(dataset.columns, target);
  return { family: family.name, dataset, target: target ?? null, model, hyperparameters };
}
