/**
 * The classification runtime of every trained family (mlp, cnn, text-cnn): raw inputs → the
 * stored feature spec's exact tensor → logits → label + probabilities. This is what lets a model
 * trained here answer the task routes (/api/v1/models/{name}/classify) and OpenAI's chat (a
 * fine-tuned classifier replies with its label); /predict encodes inputs the same way.
 */
import { fail } from '../../common/errors';
import { encodeInputs, type FeatureSpec, parseFeatureSpec, rowsFromRecords } from '../../data/index';
import { registerRuntime } from '../runtimes';
import type { ClassificationRuntime, RuntimeContext } from '../task';
import { families } from './index';
import { decodePredictions } from './predict';

/** The input every trained model's inference graph takes (src/engine/train/graphs.ts). */
const INPUT = 'x';

/**
 * One raw input as a record of the spec's columns: an object is a tabular row; a string is the
 * text (text models), an image as a data URL or bare base64 (image models), or the text of a corpus.
 */
export function inputRecord(spec: FeatureSpec, v: unknown, i: number): Record<string, unknown> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  if (typeof v !== 'string')
    fail('invalid_request', `inputs[${i}] must be an object or a string`, { pointer: `inputs[${i}]` });
  if (spec.kind === 'text') return { [spec.column]: v };
  if (spec.kind === 'image')
    return { [spec.column]: v.startsWith('data:') ? v : new Uint8Array(Buffer.from(v, 'base64')) };
  if (spec.kind === 'language-model') return { text: v };
  return fail('invalid_request', `inputs[${i}]: this model takes rows as objects ({"column": value})`, {
    pointer: `inputs[${i}]`,
  });
}

export function classifierRuntime(ctx: RuntimeContext): ClassificationRuntime {
  if (!ctx.metadata.featureSpec)
    fail('invalid_request', 'this model has no feature spec (it was not trained here)', { pointer: 'model' });
  const spec = parseFeatureSpec(ctx.metadata.featureSpec);
  if (ctx.metadata.task !== 'classification')
    fail('invalid_request', 'this model predicts values, not labels: use /api/v1/models/{name}/predict', {
      pointer: 'model',
    });
  return {
    task: 'classification',
    async classify(inputs, signal) {
      const x = encodeInputs(spec, rowsFromRecords(inputs.map((v, i) => inputRecord(spec, v, i))));
      const outputs = await ctx.run({ [INPUT]: x }, { signal });
      return decodePredictions(spec, outputs).map((p) =>
        'label' in p ? p : fail('inference_failed', 'the model returned values, not labels'),
      );
    },
  };
}

for (const name of families.names()) registerRuntime(name, classifierRuntime);
