/**
 * A LoRA job in the trainer child: chats from the job's dataset (and validation dataset), the
 * adapters trained on the decoder folder (`models/language/lora`), progress and epoch events as
 * every training sends them (train loss; validation loss per epoch), then the base folder packed
 * again with the merged graph in place of its own: the archive the service registers as a new
 * folder version (tokenizer, chat template and configs kept). No mid-run checkpoints: a crashed
 * LoRA job restarts from step 0 (it is short); a finished one is reported again from result.json.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fail } from '../../common/errors';
import { packTarGz } from '../../data/formats/tar-pack';
import type { DatasetSource } from '../../data/index';
import { parseChatJsonl, trainLora } from '../../models/language/lora/index';
import { writeFileAtomic } from './checkpoint';
import type { TrainingOutcome, WorkerJob, WorkerMessage } from './protocol';
import { trainerSessionOptions } from './trainer';

const PROGRESS_EVERY_MS = 250;

async function chatsOf(source: DatasetSource, field: string) {
  if (typeof source !== 'object' || !('path' in source))
    fail('unprocessable', `${field}: LoRA reads uploaded chat JSONL files`, { pointer: field });
  return parseChatJsonl(await readFile(source.path, 'utf8'));
}

/** The base folder's files with `graph` replaced; other graphs and their weights are left out. */
async function mergedFolder(folder: string, graphPath: string, graph: Uint8Array): Promise<Buffer> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: [string, Uint8Array][] = [];
  for (const e of entries.filter((x) => x.isFile())) {
    const path = relative(folder, join(e.parentPath, e.name)).split(sep).join('/');
    if (path === graphPath) files.push([path, graph]);
    else if (!/\.onnx(_data)?$/.test(path))
      files.push([path, new Uint8Array(await readFile(join(folder, path)))]);
  }
  return packTarGz(files.map(([p, b]) => [`model/${p}`, b] as const));
}

export async function runLoraJob(job: WorkerJob, emit: (m: WorkerMessage) => void): Promise<TrainingOutcome> {
  const result = join(job.dir, 'result.json');
  if (existsSync(result)) return JSON.parse(await readFile(result, 'utf8')) as TrainingOutcome;
  const decoder = job.decoder!;
  const hp = job.hyperparameters;
  const train = await chatsOf(job.source, 'training_file');
  const validation = job.validation ? await chatsOf(job.validation, 'validation_file') : [];
  const lossCurve: TrainingOutcome['lossCurve'] = [];
  const validationCurve: TrainingOutcome['validationCurve'] = [];
  const started = performance.now();
  let last = started;
  let events = 0;
  const r = await trainLora({
    folder: decoder.folder,
    graphPath: decoder.graphPath,
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
    onStep: (step, totalSteps, loss) => {
      const now = performance.now();
      if (now - last < PROGRESS_EVERY_MS && step !== totalSteps) return;
      last = now;
      lossCurve.push({ step, loss });
      events++;
      emit({ type: 'event', event: 'progress', data: { step, totalSteps, loss } });
    },
    onEpoch: (epoch, step, trainLoss, validationLoss) => {
      validationCurve.push({ epoch, step, loss: validationLoss ?? Number.NaN, metric: trainLoss });
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
  await writeFileAtomic(
    join(job.dir, 'model.tar.gz'),
    await mergedFolder(decoder.folder, decoder.graphPath, r.merged),
  );
  const outcome: TrainingOutcome = {
    onnxFile: 'model.tar.gz',
    task: 'text-generation',
    metrics: {
      trainLoss: r.trainLoss,
      ...(r.validationLoss === null ? {} : { validationLoss: r.validationLoss }),
      adapters: r.targets,
    },
    lossCurve,
    validationCurve,
    steps: r.steps,
    epochs: Number(hp.epochs),
    paramCount: r.adapterParameters,
    trainSeconds,
    resumedFrom: 0,
    timing: { stepSeconds: trainSeconds, events },
  };
  await writeFileAtomic(result, JSON.stringify(outcome));
  return outcome;
}
