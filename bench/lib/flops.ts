/** FLOP counts of one step of each benchmark model: matmul and convolution multiply-adds, 2 FLOPs
 * each. A train step counts forward x 3 (the backward pass is about two forwards: one product for
 * the input gradient, one for the weight gradient); elementwise ops, softmax and the optimizer
 * update are not counted, so achieved GFLOP/s is a slight underestimate of the work done.
 * The Python peers compute the same figures independently; the harness notes any disagreement. */

/** The fp32 FMA peak on 2 cores of the first host measured (GFLOP/s): the ceiling assumed where
 * `fma-ceiling.ts` cannot measure this machine's. */
export const CEILING_GFLOPS = 230;

const dense = (rows: number, fanIn: number, fanOut: number) => 2 * rows * fanIn * fanOut;
const conv = (batch: number, cIn: number, cOut: number, k: number, hOut: number, wOut: number) =>
  2 * batch * cIn * cOut * k * k * hOut * wOut;

export interface MlpShape {
  batch: number;
  inputs: number;
  hidden: number;
  classes: number;
}

export function mlpTrainFlops(s: MlpShape): number {
  const forward = dense(s.batch, s.inputs, s.hidden) + dense(s.batch, s.hidden, s.hidden);
  return 3 * (forward + dense(s.batch, s.hidden, s.classes));
}

export interface CnnShape {
  batch: number;
  size: number;
  c1: number;
  c2: number;
  dense: number;
  classes: number;
}

/** 3x3 convolutions with padding 1 keep the size; each 2x2 max-pool halves it. */
export function cnnTrainFlops(s: CnnShape): number {
  const half = Math.floor(s.size / 2);
  const flat = s.c2 * Math.floor(s.size / 4) ** 2;
  const forward =
    conv(s.batch, 1, s.c1, 3, s.size, s.size) +
    conv(s.batch, s.c1, s.c2, 3, half, half) +
    dense(s.batch, flat, s.dense) +
    dense(s.batch, s.dense, s.classes);
  return 3 * forward;
}

export interface LstmShape {
  batch: number;
  seq: number;
  vocab: number;
  embed: number;
  hidden: number;
}

/** Per time step the four gates are one [embed + hidden] x [4 hidden] product; the embedding is a
 * gather (no FLOPs). */
export function lstmTrainFlops(s: LstmShape): number {
  const tokens = s.batch * s.seq;
  return 3 * (dense(tokens, s.embed + s.hidden, 4 * s.hidden) + dense(tokens, s.hidden, s.vocab));
}

export interface GptShape {
  batch: number;
  context: number;
  vocab: number;
  d: number;
  layers: number;
}

/** Forward FLOPs for `tokens` tokens attending over `span` positions: per layer 24 d^2 per token
 * (qkv 6 d^2, output projection 2 d^2, 4x MLP 16 d^2) plus 4 span d (QK^T and AV), then the head. */
export function gptForwardFlops(
  tokens: number,
  span: number,
  s: Omit<GptShape, 'batch' | 'context'>,
): number {
  return tokens * (s.layers * (24 * s.d * s.d + 4 * span * s.d) + 2 * s.d * s.vocab);
}

export function gptTrainFlops(s: GptShape): number {
  return 3 * gptForwardFlops(s.batch * s.context, s.context, s);
}

/** One whole greedy generation of `newTokens` after a `prompt`-token prompt at batch 1: with the KV
 * cache each new token is one position; without it every token re-runs the whole sequence. */
export function gptGenerateFlops(
  s: GptShape & { prompt: number; newTokens: number; cache: boolean },
): number {
  let total = 0;
  for (let i = 0; i < s.newTokens; i++) {
    const length = s.prompt + i;
    if (!s.cache) total += gptForwardFlops(length, length, s);
    else total += gptForwardFlops(i === 0 ? s.prompt : 1, length, s);
  }
  return total;
}
