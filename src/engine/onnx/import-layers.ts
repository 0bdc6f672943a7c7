/**
 * The layers of an ONNX model as fine-tuning sees them: each node that reads float weights
 * (initializers of rank ≥ 1), in the file's node order, with the weights it reads. What to
 * freeze ("all but the last N layers"), which weights are the classification head and how to
 * re-initialise them are decided from this list (`src/models/transfer`).
 *
 *   importedLayers(bytes)  →  [{ op: 'Conv', output: '/0/Conv_output_0', weights: [{ name: '0.weight', dims: [8, 1, 5, 5], role: 'weight' }, …] }, …]
 */
import { isFloat } from '../ops/util';
import { readOnnxGraph } from './import-proto';

/**
 * What a weight is to its node: `weight` (Conv/Gemm/MatMul kernels and other multiplicands),
 * `bias` (added), `scale`/`shift` (a normalisation's affine part) or `statistic` (BatchNorm's
 * running mean and variance: never trained).
 */
export type WeightRole = 'weight' | 'bias' | 'scale' | 'shift' | 'statistic';

export interface ImportedWeight {
  name: string;
  dims: number[];
  role: WeightRole;
}

export interface ImportedLayer {
  op: string;
  /** The node's first output (its name in the file). */
  output: string;
  weights: ImportedWeight[];
  /** Gemm's transB (1: the weight is [out, in]); 0 otherwise. */
  transB: number;
}

const ROLES: Record<string, readonly WeightRole[]> = {
  Conv: ['weight', 'weight', 'bias'],
  ConvTranspose: ['weight', 'weight', 'bias'],
  Gemm: ['weight', 'weight', 'bias'],
  BatchNormalization: ['weight', 'scale', 'shift', 'statistic', 'statistic'],
  LayerNormalization: ['weight', 'scale', 'shift'],
  Add: ['bias', 'bias'],
  Sub: ['bias', 'bias'],
  // X, W, R, B (= [Wb, Rb]); initial states and peepholes stay 'weight'.
  RNN: ['weight', 'weight', 'weight', 'bias'],
  LSTM: ['weight', 'weight', 'weight', 'bias'],
  GRU: ['weight', 'weight', 'weight', 'bias'],
};

function roleOf(op: string, input: number): WeightRole {
  return ROLES[op]?.[input] ?? 'weight';
}

/** Every node with float weights, in node order (a weight read by two nodes counts at its first). */
export function importedLayers(bytes: Uint8Array): ImportedLayer[] {
  const onnx = readOnnxGraph(bytes);
  const seen = new Set<string>();
  const layers: ImportedLayer[] = [];
  for (const node of onnx.nodes) {
    const weights: ImportedWeight[] = [];
    node.inputs.forEach((name, i) => {
      const t = onnx.initializers.get(name);
      if (!t || !isFloat(t.dtype) || t.dims.length === 0 || seen.has(name)) return;
      seen.add(name);
      weights.push({ name, dims: [...t.dims], role: roleOf(node.opType, i) });
    });
    if (weights.length === 0) continue;
    const transB = node.attrs.transB;
    layers.push({
      op: node.opType,
      output: node.outputs[0] ?? '',
      weights,
      transB: transB?.kind === 'int' ? transB.value : 0,
    });
  }
  return layers;
}
