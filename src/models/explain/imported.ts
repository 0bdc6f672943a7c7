/**
 * Explanations of uploaded classifiers: any ONNX version the engine can import (`metadata.trainable`,
 * recorded at upload) is differentiated as the zoo's own models are. The saliency graph wraps the
 * imported network: one forward pass over [x, x + n_1, …, x + n_S] (batch S + 1); the class is
 * chosen on the clean row, the gradient averaged over the S others. The `noise` fed decides the
 * method: zeros (plain gradient), N(0, σ²) (SmoothGrad), or (α_s − 1)·x (integrated gradients
 * from a zero baseline along α_s = (s + ½)/S, then multiplied by x).
 *
 *   image: input [N, C, H, W] (C 1 or 3), pixels scaled to 0..1 as the zoo's models take them
 *   tabular: input [N, F], the row as F numbers (or {name: value} with `metadata.features`)
 *
 * ONNX signature of the saliency graph: `x` [1, …], `target` int64 [1] (−1 = predicted), `noise`
 * [S, …]; outputs `probabilities` [1, K], `target_class` int64 [1], `gradient` [1, …].
 */
import { fail } from '../../common/errors';
import { encodeModel, Graph, gradients, importOnnx, type Value } from '../../engine/index';
import { type Tensor, tensorFrom } from '../../engine/runtime/tensor';
import { encodePng, saliencyOverlay } from '../common/image';
import type { GraphValue, RunModel, RuntimeContext } from '../task';
import { chosenClass, modelInput, selectedLogitSum, smoothingNoise } from '../vision/saliency';
import { parseImage } from './image';
import type { Metadata } from './rebuild';
import type { ExplainerRow, ExplainRequest, Explanation } from './types';
import { labelled, targetIndex } from './types';

/** The explainer key of uploaded versions the engine imports (they have no family). */
export const IMPORTED = 'onnx';
const SAMPLES = 16;
const METHODS = ['gradient', 'smoothgrad', 'integrated_gradients'] as const;
type Method = (typeof METHODS)[number];

function notExplainable(why: string): never {
  return fail('not_explainable', why, { pointer: 'model' });
}

/** The derived-artifact role of a saliency graph for one (input, output) pair. */
const roleOf = (input: string, output: string) => `saliency ${JSON.stringify([input, output])}`;

function namesOfRole(role: string): [string, string] | null {
  if (!role.startsWith('saliency ')) return null;
  const names = JSON.parse(role.slice('saliency '.length));
  return Array.isArray(names) && names.length === 2 ? [String(names[0]), String(names[1])] : null;
}

/** One value of several, by the name given or the only one; the field says where to name it. */
function pick<T extends { name: string }>(list: readonly T[], name: string | undefined, what: string): T {
  if (name !== undefined) {
    const found = list.find((v) => v.name === name);
    if (!found)
      fail(
        'invalid_request',
        `${what} '${name.slice(0, 64)}' is not one of ${list.map((v) => v.name).join(', ')}`,
        {
          pointer: `${what}_name`,
        },
      );
    return found;
  }
  if (list.length !== 1)
    fail(
      'invalid_request',
      `the model has ${list.length} ${what}s (${list.map((v) => v.name).join(', ')}): name one with ${what}_name`,
      {
        pointer: `${what}_name`,
      },
    );
  return list[0];
}

/** An explained input's dims after the batch dim: static, or the model cannot be explained. */
function itemDims(shape: readonly (number | string)[], name: string): number[] {
  const rest = shape.slice(1);
  if (!rest.every((d) => typeof d === 'number' && d > 0))
    notExplainable(
      `input '${name}' has run-time dims [${shape}]: explanations need a fixed size after the batch dim`,
    );
  return rest as number[];
}

/** Logits behind an output: the input of a final Softmax/LogSoftmax, else the output itself. */
function logitsOf(out: Value): Value {
  const p = out.producer;
  return p && (p.op === 'Softmax' || p.op === 'LogSoftmax') ? p.inputs[0] : out;
}

function buildImportedSaliency(_metadata: Metadata, onnx: Uint8Array, role = ''): Uint8Array {
  const probe = importOnnx(onnx);
  const [inputName, outputName] = namesOfRole(role) ?? [probe.declared[0]?.name, probe.outputs[0]?.name];
  const input = pick(probe.declared, inputName, 'input');
  const dims = itemDims(input.shape ?? [], input.name);
  const batchDim = input.shape?.[0];
  const g = new Graph();
  const x = g.input('x', 'float32', [1, ...dims]);
  const target = g.input('target', 'int64', [1]);
  const noise = g.input('noise', 'float32', [SAMPLES, ...dims]);
  const rows = g.op('Concat', [x, g.op('Add', [x, noise])], { axis: 0 });
  // Other inputs are held at zero (their baseline).
  const feeds: Record<string, Value> = { [input.name]: rows };
  const sizes = typeof batchDim === 'string' ? { [batchDim]: SAMPLES + 1 } : {};
  if (typeof batchDim === 'number' && batchDim !== SAMPLES + 1)
    notExplainable(
      `input '${input.name}' has a fixed batch of ${batchDim}: export it with a dynamic batch dim`,
    );
  const m = importOnnx(onnx, { graph: g, feeds, dims: sizes });
  for (const other of m.inputs.filter((i) => i.name !== 'x' && i.name !== 'target' && i.name !== 'noise'))
    notExplainable(`the model has another input '${other.name}' that explain cannot fill`);
  const out = pick(m.outputs, outputName, 'output').value;
  const logits = logitsOf(out);
  if (logits.shape.length !== 2 || typeof logits.shape[1] !== 'number')
    notExplainable(`output '${outputName}' is [${out.shape}], a classifier's is [batch, classes]`);
  const k = logits.shape[1];
  const clean = g.op('Slice', [logits], { starts: [0], ends: [1], axes: [0] });
  const noisy = g.op('Slice', [logits], { starts: [1], ends: [SAMPLES + 1], axes: [0] });
  const cls = chosenClass(clean, target);
  const perRow = g.op('Expand', [cls], { shape: [SAMPLES] });
  const objective = g.op('Mul', [selectedLogitSum(noisy, perRow, k), g.scalar(1 / SAMPLES, 'float32')]);
  const [grad] = gradients(g, objective, [x]);
  if (!grad) notExplainable('the output does not depend on the input');
  g.output('probabilities', g.op('Softmax', [clean], { axis: -1 }));
  g.output('target_class', cls);
  g.output('gradient', grad);
  return encodeModel(g, { name: 'maas-saliency' });
}

function noiseFor(method: Method, x: Tensor, sigma: number): Tensor {
  const dims = x.dims.slice(1);
  if (method === 'smoothgrad') return smoothingNoise(SAMPLES, dims, sigma);
  const per = x.data.length;
  const data = new Float32Array(SAMPLES * per);
  if (method === 'integrated_gradients')
    for (let s = 0; s < SAMPLES; s++) {
      const alpha = (s + 0.5) / SAMPLES;
      for (let i = 0; i < per; i++) data[s * per + i] = (alpha - 1) * (x.data[i] as number);
    }
  return { dtype: 'float32', dims: [SAMPLES, ...dims], data };
}

function methodOf(req: ExplainRequest, fallback: Method): Method {
  const m = req.method ?? fallback;
  if (!(METHODS as readonly string[]).includes(m))
    fail('invalid_request', `method must be one of ${METHODS.join(', ')}`, { pointer: 'method' });
  return m as Method;
}

function labelsOf(metadata: Metadata, k: number): string[] {
  const l = metadata.labels;
  return Array.isArray(l) && l.length === k && l.every((v) => typeof v === 'string')
    ? (l as string[])
    : Array.from({ length: k }, (_, i) => String(i));
}

function tabularRow(
  input: unknown,
  width: number,
  metadata: Metadata,
): { names: string[]; values: number[] } {
  const declared = metadata.features;
  const names =
    Array.isArray(declared) && declared.length === width
      ? declared.map(String)
      : Array.from({ length: width }, (_, i) => `x${i}`);
  const values = Array.isArray(input)
    ? input
    : typeof input === 'object' && input !== null
      ? names.map((n) => (input as Record<string, unknown>)[n])
      : null;
  if (!values || values.length !== width || !values.every((v) => typeof v === 'number' && Number.isFinite(v)))
    fail(
      'invalid_request',
      `input must be ${width} numbers (or {${names.slice(0, 8).join(', ')}${width > 8 ? ', …' : ''}})`,
      {
        pointer: 'input',
      },
    );
  return { names, values: values as number[] };
}

async function explainImported(ctx: RuntimeContext, req: ExplainRequest): Promise<Explanation> {
  const sig = ctx.signature;
  if (!sig || !ctx.runArtifact) return fail('internal', 'this server cannot run derived artifacts');
  const floats = (list: GraphValue[]) => list.filter((v) => v.dtype === 'float32');
  const input = pick(floats(sig.inputs), req.inputName, 'input');
  const output = pick(floats(sig.outputs), req.outputName, 'output');
  const dims = itemDims(input.shape, input.name);
  const run: RunModel = ctx.runArtifact(roleOf(input.name, output.name));
  const image = dims.length === 3 && (dims[0] === 1 || dims[0] === 3);
  if (!image && dims.length !== 1)
    notExplainable(
      `input '${input.name}' is [${input.shape}]: explain takes images [N, C, H, W] or rows [N, F]`,
    );
  const cell = image ? parseImage(req.input) : null;
  const row = image ? null : tabularRow(req.input, dims[0], ctx.metadata);
  const x: Tensor = cell
    ? modelInput(
        {
          width: cell.width,
          height: cell.height,
          channels: cell.channels,
          data: Float32Array.from(cell.pixels, (p) => p / 255),
        },
        dims as [number, number, number],
      )
    : tensorFrom('float32', [1, dims[0]], row!.values);
  const method = methodOf(req, image ? 'smoothgrad' : 'gradient');
  const k = output.shape[1];
  if (output.shape.length !== 2 || typeof k !== 'number')
    notExplainable(`output '${output.name}' is [${output.shape}], a classifier's is [batch, classes]`);
  const labels = labelsOf(ctx.metadata, k);
  const out = await run(
    {
      x,
      target: tensorFrom('int64', [1], [targetIndex(labels, req.target)]),
      noise: noiseFor(method, x, image ? 0.15 : 0.1),
    },
    { outputs: ['probabilities', 'target_class', 'gradient'], signal: req.signal },
  );
  const classIndex = Number((out.target_class.data as BigInt64Array)[0]);
  const grad = out.gradient.data as Float32Array;
  // Attributions: the (averaged) gradient; × input for tabular rows and integrated gradients.
  const times = method === 'integrated_gradients' || !image;
  const attr = Float32Array.from(grad, (v, i) => (times ? v * (x.data[i] as number) : v));
  const base = {
    classIndex,
    label: labels[classIndex],
    ...labelled(labels, out.probabilities.data as Float32Array),
  };
  if (!cell)
    return {
      kind: 'tabular',
      ...base,
      features: row!.names.map((feature, i) => ({
        feature,
        value: row!.values[i],
        score: Number(attr[i].toPrecision(5)),
      })),
    };
  const [c, h, w] = dims;
  const grid = new Float32Array(h * w);
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i < h * w; i++) grid[i] = Math.max(grid[i], Math.abs(attr[ch * h * w + i]));
  const img = {
    width: cell.width,
    height: cell.height,
    channels: cell.channels,
    data: Float32Array.from(cell.pixels, (p) => p / 255),
  };
  const heat = saliencyOverlay(img, { width: w, height: h, data: grid }, { colormap: 'inferno', alpha: 0.6 });
  return {
    kind: 'image',
    ...base,
    width: cell.width,
    height: cell.height,
    heatmapPng: encodePng(heat),
    saliency:
      h * w <= 16_384
        ? { width: w, height: h, values: Array.from(grid, (v) => Number(v.toPrecision(5))) }
        : undefined,
  };
}

export const importedExplainerRow: ExplainerRow = {
  family: IMPORTED,
  buildSaliency: buildImportedSaliency,
  create: (ctx) => ({
    // The kind depends on the input's shape; image and tabular answers both come from here.
    kind: 'image',
    explain: (req) => explainImported(ctx, req),
  }),
};
