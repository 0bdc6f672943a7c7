/**
 * The train-step model of an uploaded ONNX classifier (transfer learning): the engine imports the
 * file into each graph the trainer builds (train step, evaluation, inference), with the batch's
 * `x` fed to the model's input. Only the chosen weights are parameters; every other weight is
 * imported as a constant, so frozen layers cost no gradient. The classification head (the last
 * layer's weights) is replaced by a fresh one when the label set changes.
 *
 *   const spec = importedSpec(bytes, { classes: 2, batchSize: 32, choice: { layers: 1, ... } });
 */
import { fail } from '../../common/errors';
import {
  type ImportedLayer,
  type ImportedWeight,
  importedLayers,
  importOnnx,
  type ModelSpec,
  type Parameter,
  readInitializers,
  type Value,
  type Values,
} from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import * as nn from '../../nn/index';

export interface TransferChoice {
  /** Train the last N layers (nodes with weights); 0: all of them. */
  layers: number;
  /** Train exactly these weights instead (initializer names). */
  parameters: readonly string[];
  /** New head: always, never, or when the base's class count differs. */
  replaceHead: 'auto' | 'always' | 'never';
  /** `random`: the same architecture from a fresh initialisation, every layer trained. */
  init: 'base' | 'random';
  seed: number;
}

export interface TransferShape {
  /** The input the batch's `x` feeds, and the file's name for its batch dim. */
  input: { name: string; batchDim: string | number };
  classes: number;
  /** The base's labels (`metadata.labels`), when it has some. */
  baseLabels: readonly string[] | null;
  labels: readonly string[];
  batchSize: number;
  itemDims: readonly number[];
}

function refuse(why: string, pointer = 'base'): never {
  return fail('unprocessable', why, { pointer });
}

/** The head: the last layer's weight (Gemm or MatMul) and its bias (Gemm's C or a following Add). */
interface Head {
  weight: ImportedWeight;
  bias: ImportedWeight | null;
  /** Which axis of the weight is the class axis. */
  classAxis: number;
}

function headOf(layers: readonly ImportedLayer[]): Head {
  const last = layers[layers.length - 1];
  const pos = layers.length - 1;
  if (last?.op === 'Gemm') {
    const weight = last.weights.find((w) => w.role === 'weight' && w.dims.length === 2);
    if (weight)
      return {
        weight,
        bias: last.weights.find((w) => w.role === 'bias') ?? null,
        classAxis: last.transB ? 0 : 1,
      };
  }
  // MatMul (weight [in, classes]) then Add (bias [classes]): PyTorch's Linear at some opsets.
  const [mm, add] = last?.op === 'Add' ? [layers[pos - 1], last] : [last, null];
  const weight = mm?.op === 'MatMul' ? mm.weights.find((w) => w.dims.length === 2) : undefined;
  if (weight) return { weight, bias: add?.weights.find((w) => w.dims.length === 1) ?? null, classAxis: 1 };
  return refuse(
    `the model's last layer is ${last?.op ?? 'missing'}, not a Gemm or MatMul classification head`,
  );
}

/** PyTorch's default init: uniform ±1/√fan_in (weights and biases alike). */
function freshTensor(dims: readonly number[], fanIn: number, rng: nn.Rng): Tensor {
  const bound = 1 / Math.sqrt(Math.max(1, fanIn));
  const n = dims.reduce((a, b) => a * b, 1);
  return tensorFrom(
    'float32',
    dims,
    Array.from({ length: n }, () => rng.uniform(-bound, bound)),
  );
}

/** A fresh value for a weight of a random-init run: normalisations start at identity. */
function freshWeight(w: ImportedWeight, fanIn: number, rng: nn.Rng): Tensor {
  const n = w.dims.reduce((a, b) => a * b, 1);
  const fill = (v: number) => tensorFrom('float32', w.dims, new Float32Array(n).fill(v));
  if (w.role === 'scale') return fill(1);
  if (w.role === 'shift') return fill(0);
  return freshTensor(w.dims, fanIn, rng);
}

/** Fan-in of a layer's kernel: all of its dims but the output one. */
function fanInOf(layer: ImportedLayer): number {
  const k = layer.weights.find((w) => w.role === 'weight' && w.dims.length >= 2);
  if (!k) return layer.weights[0]?.dims[0] ?? 1;
  const size = k.dims.reduce((a, b) => a * b, 1);
  if (layer.op === 'MatMul') return k.dims[0];
  if (layer.op === 'Gemm') return layer.transB ? k.dims[1] : k.dims[0];
  // W [directions, gates·hidden, input]: recurrent layers are initialised by their hidden size
  // (as PyTorch's LSTM/GRU: U(±1/√hidden)), not by gates·hidden·input.
  if (layer.op === 'LSTM' || layer.op === 'GRU') return k.dims[1] / (layer.op === 'LSTM' ? 4 : 3);
  return size / k.dims[0];
}

function trainedNames(layers: readonly ImportedLayer[], choice: TransferChoice): Set<string> {
  const trainable = (l: ImportedLayer) => l.weights.filter((w) => w.role !== 'statistic').map((w) => w.name);
  if (choice.init === 'random') return new Set(layers.flatMap(trainable));
  if (choice.parameters.length) {
    const known = new Set(layers.flatMap(trainable));
    for (const name of choice.parameters)
      if (!known.has(name))
        refuse(
          `'${name.slice(0, 80)}' is not a trainable weight of the model (known: ${[...known].slice(0, 12).join(', ')}${known.size > 12 ? ', …' : ''})`,
          'hyperparameters.trainable_parameters',
        );
    return new Set(choice.parameters);
  }
  const withWeights = layers.filter((l) => trainable(l).length > 0);
  const from = choice.layers === 0 ? 0 : Math.max(0, withWeights.length - choice.layers);
  return new Set(withWeights.slice(from).flatMap(trainable));
}

function sameLabels(a: readonly string[] | null, b: readonly string[]): boolean {
  return !!a && a.length === b.length && a.every((l, i) => l === b[i]);
}

/** The trainable weights as Parameters: the file's values, fresh ones for a new head or a random init. */
function parametersOf(bytes: Uint8Array, shape: TransferShape, choice: TransferChoice): Parameter[] {
  const layers = importedLayers(bytes);
  if (layers.length === 0) refuse('the model has no float weights to train');
  const head = headOf(layers);
  const classesNow = head.weight.dims[head.classAxis];
  const replace =
    choice.replaceHead === 'always' ||
    (choice.replaceHead === 'auto' &&
      (classesNow !== shape.classes || !sameLabels(shape.baseLabels, shape.labels)));
  if (!replace && classesNow !== shape.classes)
    refuse(
      `the model's head has ${classesNow} classes, the dataset ${shape.classes}: let it be replaced (replace_head auto)`,
      'hyperparameters.replace_head',
    );
  const names = trainedNames(layers, choice);
  // A new head is always trained.
  if (replace) for (const w of [head.weight, head.bias]) if (w) names.add(w.name);
  const stored = readInitializers(bytes, names);
  const rng = new nn.Rng(choice.seed + 1);
  const params: Parameter[] = [];
  for (const layer of layers) {
    const fanIn = fanInOf(layer);
    for (const w of layer.weights) {
      if (!names.has(w.name)) continue;
      const isHead = w === head.weight || w === head.bias;
      let value: Tensor;
      if (replace && isHead) {
        const dims = [...w.dims];
        dims[w === head.bias ? 0 : head.classAxis] = shape.classes;
        value = freshTensor(dims, fanIn, rng);
      } else if (choice.init === 'random') value = freshWeight(w, fanIn, rng);
      else {
        const t = stored.get(w.name)!;
        value = tensorFrom('float32', t.dims, t.values as number[]);
      }
      params.push({ name: w.name, value });
    }
  }
  return params;
}

/** Logits behind an output: the input of a final Softmax/LogSoftmax, else the output itself. */
function logitsOf(out: Value): Value {
  const p = out.producer;
  return p && (p.op === 'Softmax' || p.op === 'LogSoftmax') ? p.inputs[0] : out;
}

export function importedSpec(bytes: Uint8Array, shape: TransferShape, choice: TransferChoice): ModelSpec {
  const params = parametersOf(bytes, shape, choice);
  const trainable = new Map(params.map((p) => [p.name, p]));
  const forward = (batch: Values, g: Parameters<ModelSpec['forward']>[1]): Values => {
    const x = batch.x;
    const dims = typeof shape.input.batchDim === 'string' ? { [shape.input.batchDim]: x.shape[0] } : {};
    const m = importOnnx(bytes, { graph: g, feeds: { [shape.input.name]: x }, dims, trainable });
    const extra = m.declared.find((i) => i.name !== shape.input.name);
    if (extra) refuse(`the model has another input '${extra.name}' that training cannot fill`);
    const logits = logitsOf(m.outputs[0].value);
    if (logits.shape.length !== 2 || logits.shape[1] !== shape.classes)
      refuse(`the model's output is [${logits.shape}], a classifier's is [batch, ${shape.classes}]`);
    return { logits };
  };
  return {
    params,
    batch: {
      x: { dtype: 'float32', shape: [shape.batchSize, ...shape.itemDims] },
      y: { dtype: 'int64', shape: [shape.batchSize] },
    },
    forward,
    loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    metrics: (p, b): Values => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    inferenceOutputs: ['logits'],
  };
}
