/**
 * A trained classifier rebuilt from what the registry keeps of it: the family recipe (from the
 * version's metadata: family, feature spec, hyperparameters) with the weights read back from its
 * ONNX file, where maas exports each parameter as an initializer under its own name. The rebuilt
 * network is the graph the saliency builders differentiate.
 *
 * Two metadata shapes are understood:
 *   trained here (POST /api/v1/trainings): `{family, featureSpec, lineage: {hyperparameters}}`
 *   zoo digit CNN: `{family: 'cnn', labels: ['0', …], input: {shape: [1, 28, 28]}}` — the cnn
 *   recipe with its default hyperparameters (conv5(16)-pool-conv5(32)-pool-fc), which is exactly the
 *   zoo's network.
 */
import { fail } from '../../common/errors';
import type { ClassTarget } from '../../data/featurize/target';
import { type FeatureSpec, parseFeatureSpec } from '../../data/index';
import { type Parameter, readInitializers } from '../../engine/index';
import { type DataShape, families, type Hyperparameters, validateHyperparameters } from '../families/index';

export type Metadata = Readonly<Record<string, unknown>>;

/** A classifier's feature spec (with its class target) and the data shape its recipe is built for. */
export interface ClassifierShape {
  family: string;
  spec: Exclude<FeatureSpec, { kind: 'language-model' }> & { target: ClassTarget };
  labels: string[];
  shape: DataShape;
  hp: Hyperparameters;
}

function notExplainable(why: string): never {
  return fail('not_explainable', why, { pointer: 'model' });
}

/** The zoo image classifiers carry `labels` and `input.shape` instead of a feature spec. */
function zooImageSpec(metadata: Metadata): FeatureSpec | null {
  const labels = metadata.labels;
  const shape = (metadata.input as { shape?: unknown } | undefined)?.shape;
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string') || !Array.isArray(shape))
    return null;
  const [c, h, w] = shape as number[];
  if (shape.length !== 3 || (c !== 1 && c !== 3) || !Number.isInteger(h) || !Number.isInteger(w)) return null;
  return {
    kind: 'image',
    version: 1,
    column: 'image',
    width: w,
    height: h,
    channels: c,
    layout: 'NCHW',
    target: { name: 'label', kind: 'class', classes: labels as string[] },
  };
}

function inputDims(spec: FeatureSpec): number[] {
  if (spec.kind === 'image') return [spec.channels, spec.height, spec.width];
  if (spec.kind === 'text') return [spec.maxLength];
  if (spec.kind === 'tabular') return [spec.width];
  return notExplainable('language models have no class to explain');
}

/** What the version's metadata says about the classifier; not a classifier → `not_explainable`. */
export function classifierShape(metadata: Metadata): ClassifierShape {
  const family = metadata.family;
  if (typeof family !== 'string') notExplainable('the model has no family: it was not trained by maas');
  const raw = metadata.featureSpec;
  const spec = raw === undefined ? zooImageSpec(metadata) : parseFeatureSpec(raw);
  if (!spec) return notExplainable(`this ${family} model carries no feature spec`);
  const target = spec.kind === 'language-model' ? undefined : spec.target;
  if (target?.kind !== 'class')
    notExplainable(`model of family '${family}' is not a classifier: there is no class to explain`);
  const hp = validateHyperparameters(
    families.get(family),
    (metadata.lineage as { hyperparameters?: unknown } | undefined)?.hyperparameters,
  );
  const shape: DataShape = { spec, inputDims: inputDims(spec), classes: target.classes.length };
  return { family, spec: spec as ClassifierShape['spec'], labels: target.classes, shape, hp };
}

/**
 * Give `params` the values of the same-named initializers of `onnx` (the version's file). A
 * missing name or another shape means the file is not this recipe's export → `not_explainable`.
 */
export function loadWeights(params: readonly Parameter[], onnx: Uint8Array): void {
  const stored = readInitializers(onnx, new Set(params.map((p) => p.name)));
  for (const p of params) {
    const t = stored.get(p.name);
    if (!t) notExplainable(`the model file has no weights named '${p.name}': it is not this family's export`);
    const same = t.dims.length === p.value.dims.length && t.dims.every((d, i) => d === p.value.dims[i]);
    if (!same || t.elemType !== 'float32')
      notExplainable(
        `weights '${p.name}' are ${t.elemType} [${t.dims}], the recipe expects float32 [${p.value.dims}]`,
      );
    p.value = { dtype: 'float32', dims: [...t.dims], data: Float32Array.from(t.values as number[]) };
  }
}
