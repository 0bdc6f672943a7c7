/**
 * Per-machine choice between the two exact forms of a stride-1 Conv weight gradient (`swapped`
 * and `im2col`, see `ops/conv.ts`). Neither wins everywhere: on an AMD EPYC the swapped Conv was
 * faster for the service cnn's 5×5 convolution, while im2col made the bench CNN's 3×3 step 1.4×
 * faster there and on an AVX-512 Xeon. So each shape is timed in both forms, alone in a session
 * with the train step's threads, once per process, and the faster is kept (≈ 0.1 s for a CNN's
 * first compile); a train graph without stride-1 convolutions times nothing.
 */
import { performance } from 'node:perf_hooks';
import { Graph } from '../ir/graph';
import type { ConvGradCase, ConvGradChooser, ConvWeightGradForm } from '../ir/types';
import { encodeModel } from '../onnx/encode';
import { convWeightGrad, type Window } from '../ops/conv';
import { EngineSession, type SessionOptions } from '../runtime/session';
import { type Tensor, tensorFrom } from '../runtime/tensor';

/** `auto` times both forms per shape on this machine; a form forces it everywhere. */
export type ConvGradFormSetting = 'auto' | ConvWeightGradForm;

const FORMS: readonly ConvWeightGradForm[] = ['swapped', 'im2col'];
/** Timed runs per form, alternating so a passing load spike hits both. */
const ROUNDS = 6;
const WARMUP_RUNS = 2;

/** Choices made in this process, by shape and thread count. */
const measured = new Map<string, ConvWeightGradForm>();

/**
 * Build a graph whose stride-1 Conv weight gradients take the faster form on this machine (or
 * the forced one): it is built once to find them, and once more only when a choice differs from
 * the default.
 */
export async function buildWithConvGradForms<T>(
  build: (choose: ConvGradChooser) => T,
  setting: ConvGradFormSetting,
  session: SessionOptions,
): Promise<T> {
  if (setting !== 'auto') return build(() => setting);
  const cases: ConvGradCase[] = [];
  const first = build((c) => {
    cases.push(c);
    return 'swapped';
  });
  if (cases.length === 0) return first;
  for (const c of cases) {
    const key = caseKey(c, session);
    if (!measured.has(key)) measured.set(key, await fasterForm(c, session));
  }
  const choose: ConvGradChooser = (c) => measured.get(caseKey(c, session)) ?? 'swapped';
  return cases.every((c) => choose(c) === 'swapped') ? first : build(choose);
}

/** The forms chosen so far in this process (for logs and tests). */
export function convGradFormsChosen(): ReadonlyMap<string, ConvWeightGradForm> {
  return measured;
}

function caseKey(c: ConvGradCase, session: SessionOptions): string {
  return JSON.stringify([c.x, c.dy, c.kernel, c.pads, session.intraOpThreads ?? 2]);
}

async function fasterForm(c: ConvGradCase, options: SessionOptions): Promise<ConvWeightGradForm> {
  const sessions = await Promise.all(
    FORMS.map((form) => EngineSession.create(encodeModel(formGraph(c, form)), options)),
  );
  try {
    const feeds = { x: filled(c.x), dy: filled(c.dy) };
    const times: number[][] = FORMS.map(() => []);
    for (const s of sessions) for (let i = 0; i < WARMUP_RUNS; i++) await s.run(feeds);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, s] of sessions.entries()) {
        const start = performance.now();
        await s.run(feeds);
        times[i].push(performance.now() - start);
      }
    }
    const [swapped, im2col] = times.map(median);
    return im2col < swapped ? 'im2col' : 'swapped';
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

/** dW alone, in one form: inputs `x` and `dy`, output `dw`. */
function formGraph(c: ConvGradCase, form: ConvWeightGradForm): Graph {
  const g = new Graph({ convWeightGradForm: () => form });
  const x = g.input('x', 'float32', c.x);
  const dy = g.input('dy', 'float32', c.dy);
  const [top, left, bottom, right] = c.pads;
  const window: Window = {
    kernel: [c.kernel[0], c.kernel[1]],
    strides: [1, 1],
    pads: [top, left, bottom, right],
  };
  g.output('dw', convWeightGrad(x, dy, window, c.weight));
  return g;
}

/** Values in [-0.5, 0.5): the speed of either form does not depend on them. */
function filled(dims: readonly number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return tensorFrom('float32', dims, data);
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
