/**
 * A LoRA job in the trainer child: examples from the job's dataset (and validation dataset), the
 * adapters trained on the decoder folder (`models/language/lora`), progress and epoch events as
 * every training sends them (train loss; validation loss per epoch), then the base folder packed
 * again with the merged graph in place of its own and the adapter alone beside it
 * (`adapter/adapter_config.json`, `adapter/adapter_model.safetensors`, PEFT's layout): the archive
 * the service registers as a new folder version (tokenizer, chat template and configs kept).
 *
 * A gpt base (maas's own) is first written out as the GPT-2-layout folder `maas models export`
 * gives, so its result is a folder version like any other.
 *
 * Checkpoints as for every training: the adapters, Adam's moments and the curves every
 * `checkpoint_every` steps and at each epoch end (`checkpoint.bin`, replaced atomically); a
 * crashed or taken-over job resumes from the last one; a finished one is reported again from
 * result.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fail } from '../../common/errors';
import { packTarGz } from '../../data/formats/tar-pack';
import type { DatasetSource } from '../../data/index';
import type { TrainState } from '../../engine/index';
import { hfFolderOfVersion } from '../../models/language/hf/export';
import { writeHfFolder } from '../../models/language/hf/folder';
import {
  ADAPTER_CONFIG,
  ADAPTER_DIR,
  ADAPTER_WEIGHTS,
  parseExamplesJsonl,
  trainLora,
} from '../../models/language/lora/index';
import { CHECKPOINT_FILE, encodeCheckpoint, readCheckpoint, writeFileAtomic } from './checkpoint';
import type { TrainingOutcome, WorkerJob, WorkerMessage } from './protocol';
import { trainerSessionOptions } from './trainer';

const PROGRESS_EVERY_MS = 250;

async function examplesOf(source: DatasetSource, field: string) {
  if (typeof source !== 'object' || !('path' in source))
    fail('unprocessable', `${field}: LoRA reads uploaded JSONL files (chats or prompt/completion pairs)`, {
      pointer: field,
    });
  return parseExamplesJsonl(await readFile(source.path, 'utf8'));
}

/** The base folder's files with `graph` replaced and `extra` added; other graphs and their weights are left out. */
async function mergedFolder(
  folder: string,
  graphPath: string,
  graph: Uint8Array,
  extra: readonly (readonly [string, Uint8Array])[],
): Promise<Buffer> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: [string, Uint8Array][] = [];
  for (const e of entries.filter((x) => x.isFile())) {
    const path = relative(folder, join(e.parentPath, e.name)).split(sep).join('/');
    if (path === graphPath) files.push([path, graph]);
    else if (!/\.onnx(_data)?$/.test(path) && !path.startsWith(`${ADAPTER_DIR}/`))
      files.push([path, new Uint8Array(await readFile(join(folder, path)))]);
  }
  files.push(...extra.map(([p, b]) => [p, b] as [string, Uint8Array]));
  return packTarGz(files.map(([p, b]) => [`model/${p}`, b] as const));
}

/** The folder to train from: the uploaded one, or a gpt version written out in the job's folder. */
async function baseFolder(job: WorkerJob): Promise<string> {
  const decoder = job.decoder!;
  if (!decoder.gptFile) return decoder.folder;
  const folder = join(job.dir, 'base');
  const hf = hfFolderOfVersion(new Uint8Array(await readFile(decoder.gptFile)), decoder.gptMetadata ?? {});
  await mkdir(folder, { recursive: true });
  await writeHfFolder(folder, { ...hf, graphPath: decoder.graphPath });
  return folder;
}

interface Curves {
  lossCurve: TrainingOutcome['lossCurve'];
  validationCurve: TrainingOutcome['validationCurve'];
}

async function restore(dir: string): Promise<{ state: TrainState; curves: Curves } | null> {
  const ck = await readCheckpoint(join(dir, CHECKPOINT_FILE));
  if (!ck) return null;
  const optimizer: TrainState['optimizer'] = {};
  for (const [k, v] of Object.entries(ck.arrays)) if (k.startsWith('opt.')) optimizer[k.slice(4)] = v;
  return {
    state: { step: Number(ck.header.step), params: ck.arrays.params, optimizer },
    curves: ck.header.curves as Curves,
  };
}

export async function runLoraJob(job: WorkerJob, emit: (m: WorkerMessage) => void): Promise<TrainingOutcome> {
  const result = join(job.dir, 'result.json');
  if (existsSync(result)) return JSON.parse(await readFile(result, 'utf8')) as TrainingOutcome;
  const decoder = job.decoder!;
  const hp = job.hyperparameters;
  const train = await examplesOf(job.source, 'training_file');
  const validation = job.validation ? await examplesOf(job.validation, 'validation_file') : [];
  const restored = await restore(job.dir);
  const curves: Curves = restored?.curves ?? { lossCurve: [], validationCurve: [] };
  const resumedFrom = restored?.state.step ?? 0;
  if (resumedFrom > 0) emit({ type: 'event', event: 'resumed', data: { step: resumedFrom } });
  const folder = await baseFolder(job);
  const started = performance.now();
  let last = started;
  let events = 0;
  let checkpointSeconds = 0;
  const r = await trainLora({
    folder,
    graphPath: decoder.graphPath,
    base: decoder.ref,
    train,
    validation,
    hp: {
      epochs: Number(hp.epochs),
      batchSize: Number(hp.batch_size),
      learningRate: Number(hp.learning_rate),
      rank: Number(hp.lora_rank),
      alpha: Number(hp.lora_alpha),
      seed: Number(hp.seed),
    },
    session: trainerSessionOptions(job.threads),
    resume: restored?.state,
    checkpointEvery: Number(hp.checkpoint_every),
    onCheckpoint: async (state, epoch) => {
      const t0 = performance.now();
      const arrays: Record<string, Float32Array | Float64Array> = { params: state.params };
      for (const [k, v] of Object.entries(state.optimizer)) arrays[`opt.${k}`] = v;
      const header = { version: 1, job: job.id, step: state.step, epoch, curves };
      await writeFileAtomic(join(job.dir, CHECKPOINT_FILE), encodeCheckpoint(header, arrays));
      checkpointSeconds += (performance.now() - t0) / 1000;
      emit({ type: 'checkpoint', step: state.step });
    },
    onStep: (step, totalSteps, loss) => {
      const now = performance.now();
      if (now - last < PROGRESS_EVERY_MS && step !== totalSteps) return;
      last = now;
      curves.lossCurve.push({ step, loss });
      events++;
      emit({ type: 'event', event: 'progress', data: { step, totalSteps, loss } });
    },
    onEpoch: (epoch, step, trainLoss, validationLoss) => {
      curves.validationCurve.push({ epoch, step, loss: validationLoss ?? Number.NaN, metric: trainLoss });
      events++;
      emit({
        type: 'event',
        event: 'epoch',
        data: {
          epoch,
          epochs: Number(hp.epochs),
          step,
          train_loss: trainLoss,
          ...(validationLoss === null ? {} : { validation: { loss: validationLoss } }),
        },
      });
    },
  });
  const trainSeconds = (performance.now() - started) / 1000;
  const adapter: [string, Uint8Array][] = [
    [
      `${ADAPTER_DIR}/${ADAPTER_CONFIG}`,
      new TextEncoder().encode(`${JSON.stringify(r.adapter.config, null, 2)}\n`),
    ],
    [`${ADAPTER_DIR}/${ADAPTER_WEIGHTS}`, r.adapter.weights],
  ];
  await writeFileAtomic(
    join(job.dir, 'model.tar.gz'),
    await mergedFolder(folder, decoder.graphPath, r.merged, adapter),
  );
  // A run resumed after its last epoch took no step: its losses are the curve's last.
  const lastEpoch = curves.validationCurve.at(-1);
  const trainLoss = Number.isNaN(r.trainLoss) ? (lastEpoch?.metric ?? Number.NaN) : r.trainLoss;
  const validationLoss =
    r.validationLoss ?? (lastEpoch && !Number.isNaN(lastEpoch.loss) ? lastEpoch.loss : null);
  const outcome: TrainingOutcome = {
    onnxFile: 'model.tar.gz',
    task: 'text-generation',
    metrics: {
      trainLoss,
      ...(validationLoss === null ? {} : { validationLoss }),
      adapters: r.targets,
    },
    lossCurve: curves.lossCurve,
    validationCurve: curves.validationCurve,
    steps: r.steps,
    epochs: Number(hp.epochs),
    paramCount: r.adapterParameters,
    trainSeconds,
    resumedFrom,
    timing: { stepSeconds: trainSeconds, checkpointSeconds, events },
  };
  await writeFileAtomic(result, JSON.stringify(outcome));
  return outcome;
}
