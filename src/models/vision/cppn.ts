/**
 * `cppn`: neural generative art. A compositional pattern-producing network maps each pixel's
 * coordinates (x, y, r = √(x² + y²)) and a latent vector z to a colour. Its weights are random but
 * SEEDED, so one seed is one reproducible "artist"; z (drawn per request from the request's seed)
 * varies the picture within that artist's style. The network is exported as an ONNX inference
 * graph whose pixel dimension is symbolic, so it renders at any size in chunks.
 *
 *   const { onnx, metadata } = createCppnModel({ seed: 7, depth: 5, width: 32, activations: ['tanh', 'sin'] });
 *
 * ONNX signature: inputs `xy` float32 [pixels, 2] and `z` float32 [1, latentDim] (absent when
 * latentDim is 0); output `rgb` float32 [pixels, 3] in (0, 1).
 */
import { fail } from '../../common/errors';
import { encodeModel, Graph, type Parameter, type Value } from '../../engine/index';
import * as nn from '../../nn/index';

/** Pre-activation → activation; rows of a table, so adding one is adding a row. */
type Activation = (h: Value) => Value;

const activations = new Map<string, Activation>();

function registerActivation(name: string, f: Activation): void {
  if (activations.has(name)) throw new Error(`CPPN activation '${name}' is already registered`);
  activations.set(name, f);
}

registerActivation('tanh', (h) => h.graph.op('Tanh', [h]));
registerActivation('sin', (h) => h.graph.op('Sin', [h]));
registerActivation('sigmoid', (h) => h.graph.op('Sigmoid', [h]));
// Gaussian bump e^(−h²): rings and blobs around where the pre-activation crosses 0.
registerActivation('gauss', (h) => h.graph.op('Exp', [h.graph.op('Neg', [h.graph.op('Mul', [h, h])])]));
// Soft absolute value √(h² + 0.01): mirror symmetries with a rounded crease.
registerActivation('softabs', (h) => {
  const g = h.graph;
  return g.op('Sqrt', [g.op('Add', [g.op('Mul', [h, h]), g.scalar(0.01, h.dtype)])]);
});

export function cppnActivationNames(): string[] {
  return [...activations.keys()];
}

export interface CppnOptions {
  /** Seeds every weight. Default 1. */
  seed?: number;
  /** Hidden layers, 1..16. Default 4. */
  depth?: number;
  /** Units per hidden layer, 2..256. Default 32. */
  width?: number;
  /** Activation per hidden layer, cycled when shorter than `depth`. Default tanh, sin, gauss, tanh. */
  activations?: readonly string[];
  /** Length of z, 0..64 (0: no latent input; every request draws the same picture). Default 8. */
  latentDim?: number;
  /**
   * Weight spread: weights are N(0, (scale / √fanIn)²), the input layer N(0, scale²). Larger values
   * give finer, busier patterns. 0.1..10, default 2.
   */
  weightScale?: number;
}

/** What the runtime needs to drive the exported graph; stored as the version's metadata. */
export interface CppnMetadata {
  family: 'cppn';
  task: 'image-generation';
  seed: number;
  depth: number;
  width: number;
  activations: string[];
  latentDim: number;
  weightScale: number;
  /** Graph I/O names: inputs `xy` (and `z`), output `rgb`. */
  inputs: { coordinates: 'xy'; latent: 'z' | null };
  output: 'rgb';
}

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi)
    fail('invalid_request', `cppn ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

/** Options with defaults filled in and every value checked. */
export function resolveCppnOptions(
  o: CppnOptions = {},
): Omit<CppnMetadata, 'family' | 'task' | 'inputs' | 'output'> {
  const acts = [...(o.activations ?? ['tanh', 'sin', 'gauss', 'tanh'])];
  if (acts.length === 0) fail('invalid_request', 'cppn activations must name at least one activation');
  for (const a of acts) {
    if (!activations.has(a))
      fail('invalid_request', `unknown cppn activation '${a}'; known: ${cppnActivationNames().join(', ')}`);
  }
  const weightScale = o.weightScale ?? 2;
  if (!(weightScale >= 0.1 && weightScale <= 10))
    fail('invalid_request', `cppn weightScale must be in [0.1, 10], got ${weightScale}`);
  return {
    seed: intIn('seed', o.seed ?? 1, 0, 2 ** 31 - 1),
    depth: intIn('depth', o.depth ?? 4, 1, 16),
    width: intIn('width', o.width ?? 32, 2, 256),
    activations: acts,
    latentDim: intIn('latentDim', o.latentDim ?? 8, 0, 64),
    weightScale,
  };
}

/** The network as IR: `xy` [pixels, 2] (+ `z` [1, L]) → `rgb` [pixels, 3]. */
export function buildCppnGraph(options: CppnOptions = {}): { graph: Graph; metadata: CppnMetadata } {
  const o = resolveCppnOptions(options);
  const rng = new nn.Rng(o.seed);
  const g = new Graph();
  const weight = (name: string, fanIn: number, fanOut: number, std: number): Parameter =>
    nn.parameter(name, [fanIn, fanOut], nn.normal(std)(rng, [fanIn, fanOut], fanIn, fanOut));
  const dense = (x: Value, name: string, fanIn: number, fanOut: number, std: number): Value =>
    g.op('Add', [
      g.op('MatMul', [x, g.param(weight(`${name}.weight`, fanIn, fanOut, std))]),
      g.param(weight(`${name}.bias`, 1, fanOut, std * 0.5)),
    ]);

  const xy = g.input('xy', 'float32', ['pixels', 2]);
  const r = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [xy, xy])], { axes: [1], keepdims: true })]);
  const features = g.op('Concat', [xy, r], { axis: 1 });
  let h = dense(features, 'in', 3, o.width, o.weightScale);
  if (o.latentDim > 0) {
    const z = g.input('z', 'float32', [1, o.latentDim]);
    h = g.op('Add', [h, g.op('MatMul', [z, g.param(weight('latent.weight', o.latentDim, o.width, 1))])]);
  }
  for (let i = 0; i < o.depth; i++) {
    if (i > 0) h = dense(h, `hidden${i}`, o.width, o.width, o.weightScale / Math.sqrt(o.width / 2));
    h = activations.get(o.activations[i % o.activations.length])!(h);
  }
  const rgb = g.op('Sigmoid', [dense(h, 'out', o.width, 3, o.weightScale / Math.sqrt(o.width / 4))]);
  g.output('rgb', rgb);
  const metadata: CppnMetadata = {
    family: 'cppn',
    task: 'image-generation',
    ...o,
    inputs: { coordinates: 'xy', latent: o.latentDim > 0 ? 'z' : null },
    output: 'rgb',
  };
  return { graph: g, metadata };
}

/** A zoo/registry model version: ONNX bytes + the metadata its runtime reads. */
export function createCppnModel(options: CppnOptions = {}): { onnx: Uint8Array; metadata: CppnMetadata } {
  const { graph, metadata } = buildCppnGraph(options);
  return { onnx: encodeModel(graph, { name: `maas-cppn-${metadata.seed}` }), metadata };
}
