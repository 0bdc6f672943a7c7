/**
 * Per-machine choice between the two exact forms of a stride-1 Conv weight gradient (`swapped`
 * and `im2col`, see `ops/conv.ts`). Neither wins everywhere: on an AMD EPYC the swapped Conv was
 * faster for the service cnn's 5×5 convolution, while im2col made the bench CNN's 3×3 step 1.4×
 * faster there and on an AVX-512 Xeon. So each shape is timed in both forms, alone in a session
 * with the train step's options, once per shape and options in a process, and the faster is kept
 * (≈ 0.1 s for a CNN's first compile); a train graph without stride-1 convolutions times nothing.
 */
import { performance } from 'node:perf_hooks';
import { Graph } from '../ir/graph';
import type { ConvGradCase, ConvGradChooser, ConvWeightGradForm } from '../ir/types';
import { encodeModel } from '../onnx/encode';
import { convWeightGrad, type Window } from '../ops/conv';
import { DEFAULT_INTRA_OP_THREADS, EngineSession, type SessionOptions } from '../runtime/session';
import { type Tensor, tensorFrom } from '../runtime/tensor';

/**
 * `auto` times both forms per shape on this machine; a form forces it everywhere; a record pins
 * each shape's form as an earlier step used it (`TrainStep.convWeightGradForms`), so that a job
 * resumed in another process computes exactly what it computed before.
 */
export type ConvGradFormSetting = 'auto' | ConvWeightGradForm | Readonly<Record<string, ConvWeightGradForm>>;

/** What was built, and the form each stride-1 weight gradient in it took (by `convGradCaseKey`). */
export interface WithConvGradForms<T> {
  built: T;
  forms: Record<string, ConvWeightGradForm>;
}

const FORMS: readonly ConvWeightGradForm[] = ['swapped', 'im2col'];
/** Timed runs per form, alternating so a passing load spike hits both. */
const ROUNDS = 6;
const WARMUP_RUNS = 2;

/**
 * Choices made in this process, by shape and the session options that change timings. The
 * promise is kept, so two steps compiled at once for the same shape time it once, not against
 * each other.
 */
const measured = new Map<string, Promise<ConvWeightGradForm>>();

/** A weight gradient's identity across processes: its shapes and window. */
export function convGradCaseKey(c: ConvGradCase): string {
  return JSON.stringify([c.x, c.dy, c.kernel, c.pads]);
}

/**
 * Build a graph whose stride-1 Conv weight gradients take the faster form on this machine (or
 * the forced or pinned one): it is built once to find them, and once more only when a choice
 * differs from the default.
 */
export async function buildWithConvGradForms<T>(
  build: (choose: ConvGradChooser) => T,
  setting: ConvGradFormSetting,
  session: SessionOptions,
): Promise<WithConvGradForms<T>> {
  const forms: Record<string, ConvWeightGradForm> = {};
  const recording =
    (choose: ConvGradChooser): ConvGradChooser =>
    (c) => {
      const form = choose(c);
      forms[convGradCaseKey(c)] = form;
      return form;
    };
  if (typeof setting === 'string' && setting !== 'auto')
    return { built: build(recording(() => setting)), forms };
  if (typeof setting === 'object') {
    return { built: build(recording((c) => setting[convGradCaseKey(c)] ?? 'swapped')), forms };
  }
  const cases: ConvGradCase[] = [];
  const first = build(
    recording((c) => {
      cases.push(c);
      return 'swapped';
    }),
  );
  const chosen = new Map<string, ConvWeightGradForm>();
  for (const c of cases) chosen.set(convGradCaseKey(c), await measuredForm(c, session));
  if ([...chosen.values()].every((f) => f === 'swapped')) return { built: first, forms };
  return { built: build(recording((c) => chosen.get(convGradCaseKey(c)) ?? 'swapped')), forms };
}

/** The forms timed so far in this process (for logs and tests). */
export async function convGradFormsMeasured(): Promise<ReadonlyMap<string, ConvWeightGradForm>> {
  const out = new Map<string, ConvWeightGradForm>();
  for (const [key, form] of measured) out.set(key, await form);
  return out;
}

function measuredForm(c: ConvGradCase, session: SessionOptions): Promise<ConvWeightGradForm> {
  const timing = [
    session.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS,
    session.interOpThreads,
    session.graphOptimization,
    session.allowSpinning,
    session.spinMicros,
    session.spinOnlyWhileRunning,
  ];
  const key = JSON.stringify([convGradCaseKey(c), timing]);
  let form = measured.get(key);
  if (!form) {
    // A form that cannot be timed (a session that fails to build or run) is not chosen.
    form = fasterForm(c, session).catch(() => 'swapped' as const);
    measured.set(key, form);
  }
  return form;
}

async function fasterForm(c: ConvGradCase, options: SessionOptions): Promise<ConvWeightGradForm> {
  const created = await Promise.allSettled(
    FORMS.map((form) => EngineSession.create(encodeModel(formGraph(c, form)), options)),
  );
  const sessions = created.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    if (sessions.length < FORMS.length) return 'swapped';
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
