/**
 * The training loop a trainer child runs: load and featurize the dataset, build the family's
 * model, compile the train step, resume from the job's checkpoint if one exists, then run steps,
 * emitting progress (≈ 4 per second), validating and checkpointing at each epoch end and every
 * `checkpoint_every` steps, and finally export the inference ONNX and its metrics. Everything it
 * writes goes through `writeFileAtomic`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../../common/errors';
import {
  type BatchCursor,
  batches,
  type ClassTarget,
  type FeatureSpec,
  type LoadOptions,
  loadForTraining,
  type TrainingData,
} from '../../data/index';
import {
  type ConvWeightGradForm,
  compileTrainStep,
  type ModelSpec,
  type SessionOptions,
  type TrainState,
  type TrainStep,
} from '../../engine/index';
import {
  families,
  type Hyperparameters,
  importedSpec,
  type TransferChoice,
} from '../../models/families/index';
import * as nn from '../../nn/index';
import { CHECKPOINT_FILE, encodeCheckpoint, readCheckpoint, writeFileAtomic } from './checkpoint';
import { ConfusionCounter, RegressionCounter } from './metrics';
import type { TrainingOutcome, WorkerJob, WorkerMessage } from './protocol';

/** Time between progress events (ms): frequent enough for a live bar, cheap enough to ignore. */
const PROGRESS_EVERY_MS = 250;
/** Examples per evaluation run (any size works; this bounds memory). */
const EVAL_BATCH = 512;

type Emit = (m: WorkerMessage) => void;

/** ORT options of a trainer's train-step session (bench/train/step-profile.ts times the same). */
export function trainerSessionOptions(threads: number): SessionOptions {
  return { intraOpThreads: threads, interOpThreads: 1 };
}

interface Curves {
  lossCurve: TrainingOutcome['lossCurve'];
  validationCurve: TrainingOutcome['validationCurve'];
}

interface Run {
  job: WorkerJob;
  hp: Hyperparameters;
  data: TrainingData;
  trainer: TrainStep;
  batchSize: number;
  perEpoch: number;
  total: number;
  curves: Curves;
  emit: Emit;
  timing: Timing;
}

/** Where this attempt's wall time went (s): the service's overhead is checkpoints + events. */
export type Timing = {
  stepSeconds: number;
  /** CPU time of the whole process (all threads) inside train steps: on a shared machine the
   * wall time of a step depends on the load, its CPU time much less. */
  stepCpuSeconds: number;
  checkpointSeconds: number;
  eventSeconds: number;
  validationSeconds: number;
  checkpoints: number;
  events: number;
};

const paths = (dir: string) => ({
  checkpoint: join(dir, CHECKPOINT_FILE),
  onnx: join(dir, 'model.onnx'),
  result: join(dir, 'result.json'),
});

function classTargetOf(spec: FeatureSpec): ClassTarget | null {
  return spec.kind !== 'language-model' && spec.target?.kind === 'class' ? spec.target : null;
}

function regressionStd(spec: FeatureSpec): number {
  return spec.kind === 'tabular' && spec.target?.kind === 'regression' ? spec.target.std : 1;
}

/** Validation loss, headline metric and (at the end) full metrics over the whole split. */
async function validate(run: Run): Promise<{ loss: number; metric: number; full: Record<string, unknown> }> {
  const { data, trainer } = run;
  const cls = classTargetOf(data.spec);
  const counter = cls ? new ConfusionCounter(cls.classes) : new RegressionCounter(regressionStd(data.spec));
  const stream = batches(data, 'validation', { batchSize: EVAL_BATCH, shuffle: false });
  let lossSum = 0;
  let n = 0;
  for (let i = 0; i < stream.batchesPerEpoch; i++) {
    const b = stream.next();
    const r = await trainer.evaluate({ x: b.inputs, y: b.targets });
    const rows = b.targets.dims[0];
    lossSum += r.loss * rows;
    n += rows;
    const out = r.predictions.logits ?? r.predictions.value;
    counter.add(out, b.targets);
  }
  const full = counter.result() as unknown as Record<string, unknown>;
  const metric = cls ? Number(full.accuracy) : Number(full.rmse);
  return { loss: n ? lossSum / n : 0, metric, full };
}

async function saveCheckpoint(run: Run, cursor: BatchCursor, epoch: number): Promise<void> {
  const t0 = performance.now();
  const state = run.trainer.state();
  const arrays: Record<string, Float32Array | Float64Array> = { params: state.params };
  for (const [k, v] of Object.entries(state.optimizer)) arrays[`opt.${k}`] = v;
  if (state.buffers) arrays.buffers = state.buffers;
  const header = {
    version: 1,
    job: run.job.id,
    step: state.step,
    epoch,
    cursor,
    rng: cursor.epochRng,
    seed: run.hp.seed,
    spec: run.data.spec,
    curves: run.curves,
    // The two forms of a conv weight gradient round differently: a resumed run repeats the
    // forms this one was compiled with, not a fresh timing's.
    convWeightGrad: run.trainer.convWeightGradForms,
  };
  await writeFileAtomic(paths(run.job.dir).checkpoint, encodeCheckpoint(header, arrays));
  run.timing.checkpointSeconds += (performance.now() - t0) / 1000;
  run.timing.checkpoints++;
  run.emit({ type: 'checkpoint', step: state.step });
}

interface Restored {
  cursor?: BatchCursor;
  spec?: FeatureSpec;
  state?: TrainState;
  curves?: Curves;
  convWeightGrad?: Record<string, ConvWeightGradForm>;
}

async function restore(dir: string): Promise<Restored> {
  const ck = await readCheckpoint(paths(dir).checkpoint);
  if (!ck) return {};
  const optimizer: TrainState['optimizer'] = {};
  for (const [k, v] of Object.entries(ck.arrays)) if (k.startsWith('opt.')) optimizer[k.slice(4)] = v;
  return {
    cursor: ck.header.cursor as BatchCursor,
    spec: ck.header.spec as FeatureSpec,
    curves: ck.header.curves as Curves,
    convWeightGrad: ck.header.convWeightGrad as Record<string, ConvWeightGradForm> | undefined,
    state: { step: Number(ck.header.step), params: ck.arrays.params, optimizer, buffers: ck.arrays.buffers },
  };
}

/** The images as the base model takes them: its [C, H, W], whatever size they are stored at. */
function baseLoadOptions(base: NonNullable<WorkerJob['base']>): Partial<LoadOptions> {
  const [channels, height, width] = base.itemDims;
  return { image: { width, height, channels: channels as 1 | 3 } };
}

/** A fine-tuning job's model: the base file imported into the train step (`imported-spec.ts`). */
async function baseSpec(job: WorkerJob, data: TrainingData, batchSize: number): Promise<ModelSpec> {
  const base = job.base!;
  const hp = job.hyperparameters;
  const cls = classTargetOf(data.spec);
  if (!cls)
    fail('unprocessable', 'fine-tuning an uploaded model trains a classifier: the target must be classes', {
      pointer: 'target',
    });
  return importedSpec(
    new Uint8Array(await readFile(base.file)),
    {
      input: base.input,
      classes: cls.classes.length,
      baseLabels: base.labels,
      labels: cls.classes,
      batchSize,
      itemDims: base.itemDims,
    },
    {
      layers: Number(hp.trainable_layers),
      parameters: (hp.trainable_parameters as unknown as string[] | undefined) ?? [],
      replaceHead: hp.replace_head as TransferChoice['replaceHead'],
      init: hp.init as TransferChoice['init'],
      seed: Number(hp.seed),
    },
  );
}

async function prepare(job: WorkerJob, emit: Emit, restored: Restored): Promise<Run> {
  const family = families.get(job.family);
  const hp = job.hyperparameters;
  const data = await loadForTraining(job.source, {
    task: family.task,
    target: job.target ?? undefined,
    seed: Number(hp.seed),
    validationFraction: Number(hp.validation_fraction),
    spec: restored.spec,
    ...(job.base ? baseLoadOptions(job.base) : family.loadOptions(hp)),
  });
  const batchSize = Math.min(Number(hp.batch_size), data.train.length);
  const cls = classTargetOf(data.spec);
  const model = job.base
    ? await baseSpec(job, data, batchSize)
    : family.build(
        { spec: data.spec, inputDims: data.inputs.dims.slice(1), classes: cls ? cls.classes.length : 0 },
        hp,
        batchSize,
      );
  const trainer = await compileTrainStep({
    model,
    optimizer: nn.adam(),
    session: trainerSessionOptions(job.threads),
    convWeightGrad: restored.convWeightGrad,
  });
  if (restored.state) trainer.load(restored.state);
  const perEpoch = Math.floor(data.train.length / batchSize);
  const run: Run = {
    job,
    hp,
    data,
    trainer,
    batchSize,
    perEpoch,
    total: perEpoch * Number(hp.epochs),
    curves: restored.curves ?? { lossCurve: [], validationCurve: [] },
    emit: (m) => {
      const t = performance.now();
      emit(m);
      run.timing.eventSeconds += (performance.now() - t) / 1000;
      run.timing.events++;
    },
    timing: {
      stepSeconds: 0,
      stepCpuSeconds: 0,
      checkpointSeconds: 0,
      eventSeconds: 0,
      validationSeconds: 0,
      checkpoints: 0,
      events: 0,
    },
  };
  return run;
}

async function epochEnd(run: Run, step: number, cursor: BatchCursor): Promise<void> {
  const epoch = Math.round(step / run.perEpoch);
  const t0 = performance.now();
  const v = await validate(run);
  run.timing.validationSeconds += (performance.now() - t0) / 1000;
  run.curves.validationCurve.push({ epoch, step, loss: v.loss, metric: v.metric });
  const name = classTargetOf(run.data.spec) ? 'accuracy' : 'rmse';
  run.emit({
    type: 'event',
    event: 'epoch',
    data: { epoch, epochs: Number(run.hp.epochs), step, validation: { loss: v.loss, [name]: v.metric } },
  });
  await saveCheckpoint(run, cursor, epoch);
}

/** Steps until done; returns training seconds (this attempt). */
async function loop(run: Run, cursor: BatchCursor | undefined): Promise<number> {
  const { trainer, total, perEpoch, hp } = run;
  const stream = batches(run.data, 'train', {
    batchSize: run.batchSize,
    seed: Number(hp.seed),
    dropLast: true,
    cursor,
  });
  const base = Number(hp.learning_rate);
  // Schedules are functions of the step, so a resumed run continues on the same curve.
  const lr = hp.lr_schedule === 'cosine' ? nn.cosine({ base, total, min: base / 20 }) : nn.constantLr(base);
  const every = Number(hp.checkpoint_every);
  const started = performance.now();
  let windowStart = started;
  let windowSteps = 0;
  let windowLoss = 0;
  while (trainer.steps < total) {
    const s0 = performance.now();
    const c0 = process.cpuUsage();
    const b = stream.next();
    const r = await trainer.step({ x: b.inputs, y: b.targets }, lr(trainer.steps));
    const c = process.cpuUsage(c0);
    run.timing.stepSeconds += (performance.now() - s0) / 1000;
    run.timing.stepCpuSeconds += (c.user + c.system) / 1e6;
    windowSteps++;
    windowLoss += r.loss;
    const step = trainer.steps;
    const t = performance.now();
    if (t - windowStart >= PROGRESS_EVERY_MS || step === total) {
      const stepsPerSecond = (windowSteps * 1000) / (t - windowStart);
      const loss = windowLoss / windowSteps;
      run.curves.lossCurve.push({ step, loss });
      run.emit({
        type: 'event',
        event: 'progress',
        data: {
          step,
          totalSteps: total,
          epoch: Math.floor((step - 1) / perEpoch) + 1,
          epochs: Number(hp.epochs),
          loss,
          ...r.metrics,
          stepsPerSecond,
          samplesPerSecond: stepsPerSecond * run.batchSize,
          etaSeconds: (total - step) / stepsPerSecond,
        },
      });
      windowStart = t;
      windowSteps = 0;
      windowLoss = 0;
    }
    if (step % perEpoch === 0) await epochEnd(run, step, stream.cursor());
    else if (step % every === 0) await saveCheckpoint(run, stream.cursor(), Math.floor(step / perEpoch));
  }
  return (performance.now() - started) / 1000;
}

/** Run (or resume, or just report) one job. Throws on a bad dataset or an engine failure. */
export async function runTraining(job: WorkerJob, emit: Emit): Promise<TrainingOutcome> {
  const p = paths(job.dir);
  // The job finished before a crash, only its registration was lost: report it again.
  if (existsSync(p.result)) return JSON.parse(await readFile(p.result, 'utf8')) as TrainingOutcome;
  const restored = await restore(job.dir);
  const run = await prepare(job, emit, restored);
  try {
    const resumedFrom = restored.state?.step ?? 0;
    if (resumedFrom > 0) emit({ type: 'event', event: 'resumed', data: { step: resumedFrom } });
    const trainSeconds = await loop(run, restored.cursor);
    const final = await validate(run);
    await writeFileAtomic(p.onnx, run.trainer.exportInference());
    const outcome: TrainingOutcome = {
      onnxFile: 'model.onnx',
      spec: run.data.spec,
      task: classTargetOf(run.data.spec) ? 'classification' : 'regression',
      metrics: { validationLoss: final.loss, ...final.full },
      ...run.curves,
      steps: run.trainer.steps,
      epochs: Number(run.hp.epochs),
      paramCount: run.trainer.paramCount,
      trainSeconds,
      resumedFrom,
      timing: run.timing,
    };
    await writeFileAtomic(p.result, JSON.stringify(outcome));
    return outcome;
  } finally {
    await run.trainer.release();
  }
}
