/**
 * The classification task runtime of the families trained here (`mlp`, `cnn`, `text-cnn`): raw
 * inputs → the exact training-time tensor (the version's stored `featureSpec`) → one run → labels
 * with class probabilities. The same decoding as `POST /api/v1/models/{name}/predict`, so
 * `maas classify` and `/classify` agree with it.
 *
 *   maas classify zoo~spam-cnn "WIN a FREE cruise, click now"   →   spam 0.99
 */
import { fail } from '../../common/errors';
import { encodeInputs, type FeatureSpec, parseFeatureSpec, rowsFromRecords } from '../../data/index';
import { registerRuntime } from '../runtimes';
import type { ClassificationRuntime, RuntimeContext } from '../task';
import { decodePredictions, recordsFromInputs } from './predict';

function classifierSpec(metadata: Readonly<Record<string, unknown>>): FeatureSpec {
  if (!metadata.featureSpec)
    fail('invalid_request', 'this model has no feature spec: call /v2/models/{name}/infer with tensors', {
      pointer: 'model',
    });
  const spec = parseFeatureSpec(metadata.featureSpec);
  if (spec.kind === 'language-model' || spec.target?.kind !== 'class')
    fail('invalid_request', 'this model predicts values, not classes: call /api/v1/models/{name}/predict', {
      pointer: 'model',
    });
  return spec;
}

/** Input tensor name: `metadata.input.name` when given, else `x` (every family's batch field). */
function inputName(metadata: Readonly<Record<string, unknown>>): string {
  const input = metadata.input as { name?: unknown } | undefined;
  return typeof input?.name === 'string' ? input.name : 'x';
}

export function featureSpecClassifier(ctx: RuntimeContext): ClassificationRuntime {
  const spec = classifierSpec(ctx.metadata);
  const input = inputName(ctx.metadata);
  return {
    task: 'classification',
    async classify(inputs, signal) {
      const x = encodeInputs(spec, rowsFromRecords(recordsFromInputs(spec, inputs)));
      const outputs = await ctx.run({ [input]: x }, { signal });
      return decodePredictions(spec, outputs).map((p) =>
        'label' in p ? p : fail('inference_failed', 'the model returned values, not labels'),
      );
    },
  };
}

/** Every family trained by the training service classifies through its stored feature spec. */
for (const family of ['mlp', 'cnn', 'text-cnn', 'onnx']) registerRuntime(family, featureSpecClassifier);
