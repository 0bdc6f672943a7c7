/**
 * Prediction from raw inputs with a model trained here: the version's stored feature spec turns
 * rows, texts or images into the exact tensor it was trained on, its target spec turns the outputs
 * back into labels or values. Inputs the model would silently misread (an unknown or missing
 * column, a category never seen in training, a text with no known word) come back as `warnings`;
 * `strict` refuses them instead (400 naming each one).
 */
import { fail } from '../../common/errors';
import {
  encodeInputs,
  type InputWarning,
  inputWarnings,
  parseFeatureSpec,
  rowsFromRecords,
} from '../../data/index';
import { decodePredictions, recordsFromInputs } from '../../models/families/index';
import type { Registry } from '../registry/registry';
import type { InferenceService } from '../serving/inference';

/** Rows per request: bounds the work one request can ask for. */
export const MAX_PREDICT_INPUTS = 1024;

export interface PredictTarget {
  owner: string;
  model: string;
  /** Version number or alias; default latest. */
  ref?: string;
}

export interface PredictOutcome {
  model: string;
  version: number;
  predictions: ReturnType<typeof decodePredictions>;
  warnings: InputWarning[];
}

export async function predictFromInputs(
  deps: { registry: Registry; inference: InferenceService },
  target: PredictTarget,
  inputs: unknown,
  options: { strict?: boolean; signal?: AbortSignal } = {},
): Promise<PredictOutcome> {
  if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_PREDICT_INPUTS)
    fail('invalid_request', `inputs must be a list of 1 to ${MAX_PREDICT_INPUTS} items`, {
      pointer: 'inputs',
    });
  const version = await deps.registry.resolve(target.owner, target.model, target.ref);
  if (!version.metadata.featureSpec)
    fail(
      'unprocessable',
      'this model has no feature spec (it was not trained here); call /v2/models/{name}/infer with tensors',
    );
  const spec = parseFeatureSpec(version.metadata.featureSpec);
  const records = recordsFromInputs(spec, inputs);
  const warnings = inputWarnings(spec, records);
  if (options.strict && warnings.length > 0)
    fail('invalid_request', `strict: ${warnings.map((w) => w.detail).join('; ')}`, {
      pointer: warnings[0].pointer,
    });
  const x = encodeInputs(spec, rowsFromRecords(records));
  const input = version.signature.inputs[0]?.name ?? 'x';
  const { outputs } = await deps.inference.infer(target.owner, target.model, String(version.version), {
    inputs: { [input]: x },
    signal: options.signal,
  });
  return {
    model: version.model,
    version: version.version,
    predictions: decodePredictions(spec, outputs),
    warnings,
  };
}
