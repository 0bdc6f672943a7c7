/**
 * A LoRA fine-tuning run on a decoder folder: read the folder's graph, tokenizer and chat template,
 * encode the chats, train the adapters with Adam (train loss per step, validation loss per epoch),
 * then write the merged graph. The training service calls it in its trainer child process
 * (`platform/training/lora-run.ts` adds checkpoints' place, events and the folder packing).
 *
 * A graph whose weights live in external data (`model.onnx_data`) is read with them inlined; the
 * merged graph is then one file. A run resumes from a `TrainState` (the adapters and Adam's moments
 * at a step): the shuffles of the epochs before it are replayed, so it goes on as if never stopped.
 *
 *   const r = await trainLora({ folder, graphPath: 'onnx/model.onnx', base: 'tiny:1', train, validation, hp, onStep });
 *   r.merged    // the new graph's bytes; the folder's other files are the base's
 *   r.adapter   // the adapter alone, PEFT's adapter_config.json and adapter_model.safetensors
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fail } from '../../../common/errors';
import {
  compileTrainStep,
  decodeModel,
  inlineExternalData,
  type SessionOptions,
  type TrainState,
} from '../../../engine/index';
import * as nn from '../../../nn/index';
import { loadTextAssets } from '../../hf/index';
import { chatBatch, encodeExample, type TrainingExample } from './data';
import { type AdapterFiles, peftAdapter } from './peft';
import { loraSpec, loraTargets, mergeLora } from './spec';

export interface LoraHyperparameters {
  epochs: number;
  batchSize: number;
  learningRate: number;
  rank: number;
  alpha: number;
  seed: number;
}

export interface LoraRun {
  /** The base folder on disk and its graph's path inside it. */
  folder: string;
  graphPath: string;
  /** How the adapter's config names the base (`name:version`). */
  base: string;
  train: readonly TrainingExample[];
  validation: readonly TrainingExample[];
  hp: LoraHyperparameters;
  session?: SessionOptions;
  /** Where to start from: a checkpoint's state (absent: step 0). */
  resume?: TrainState;
  /** Called every `checkpointEvery` steps and at each epoch end, with the state to save. */
  checkpointEvery?: number;
  onCheckpoint?: (state: TrainState, epoch: number) => Promise<void>;
  onStep?: (step: number, total: number, loss: number) => void;
  onEpoch?: (epoch: number, step: number, trainLoss: number, validationLoss: number | null) => void;
}

export interface LoraResult {
  merged: Uint8Array;
  steps: number;
  trainLoss: number;
  validationLoss: number | null;
  adapterParameters: number;
  targets: string[];
  adapter: AdapterFiles;
}

/** The graph with its external weights read in; a location outside the folder is refused. */
async function readGraph(folder: string, graphPath: string): Promise<Uint8Array> {
  const path = join(folder, graphPath);
  const bytes = await readFile(path).catch(() =>
    fail('unprocessable', `the model folder has no ${graphPath}`, { pointer: 'model' }),
  );
  const graph = new Uint8Array(bytes);
  if (decodeModel(graph).externalTensors.length === 0) return graph;
  const root = resolve(folder);
  return inlineExternalData(graph, (location) => {
    const file = resolve(dirname(path), location);
    if (relative(root, file).startsWith('..'))
      fail('unprocessable', `external data '${location}' is outside the model folder`, { pointer: 'model' });
    try {
      return new Uint8Array(readFileSync(file));
    } catch {
      return fail('unprocessable', `the model folder has no external data file ${location}`, {
        pointer: 'model',
      });
    }
  });
}

/** The longest sequence the model takes (config.json), or null when it does not say. */
async function contextOf(read: (path: string) => Promise<Uint8Array | null>): Promise<number | null> {
  const bytes = await read('config.json');
  if (!bytes) return null;
  try {
    const c = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const n = c.max_position_embeddings ?? c.n_positions ?? c.n_ctx;
    return typeof n === 'number' && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Deterministic shuffle (Fisher–Yates on a seeded generator). */
function order(n: number, rng: nn.Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

export async function trainLora(run: LoraRun): Promise<LoraResult> {
  const read = async (path: string) => {
    try {
      return new Uint8Array(await readFile(join(run.folder, path)));
    } catch {
      return null;
    }
  };
  const assets = await loadTextAssets(read);
  const bytes = await readGraph(run.folder, run.graphPath);
  const info = decodeModel(bytes);
  const inputs = info.inputs.map((i) => ({ name: i.name, shape: i.shape ?? [] }));
  const eos = assets.eosIds[0];
  const encode = (examples: readonly TrainingExample[]) =>
    examples.map((e) => encodeExample(e, assets.template, assets.tokenizer, eos));
  const train = encode(run.train);
  const validation = encode(run.validation);
  const length = Math.max(...[...train, ...validation].map((r) => r.ids.length));
  const context = await contextOf(read);
  if (context !== null && length > context)
    fail(
      'unprocessable',
      `the longest training example is ${length} tokens; the model's context is ${context}`,
      { pointer: 'training_file' },
    );
  const pad = eos ?? 0;
  const { hp } = run;
  const batch = Math.min(hp.batchSize, train.length);
  const plan = loraTargets(bytes);
  const spec = loraSpec(bytes, plan, {
    rank: hp.rank,
    alpha: hp.alpha,
    seed: hp.seed,
    batch,
    length,
    inputs,
  });
  const trainer = await compileTrainStep({ model: spec, optimizer: nn.adam(), session: run.session });
  try {
    if (run.resume) trainer.load(run.resume);
    const rng = new nn.Rng(hp.seed);
    const perEpoch = Math.max(1, Math.floor(train.length / batch));
    const total = perEpoch * hp.epochs;
    const every = run.checkpointEvery ?? Number.POSITIVE_INFINITY;
    let trainLoss = Number.NaN;
    let validationLoss: number | null = null;
    const firstEpoch = Math.floor(trainer.steps / perEpoch) + 1;
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      // Every epoch's shuffle is drawn, the resumed ones' too: the order stays the uninterrupted run's.
      const idx = order(train.length, rng);
      if (epoch < firstEpoch) continue;
      let sum = 0;
      const done = trainer.steps - (epoch - 1) * perEpoch;
      for (let s = done; s < perEpoch; s++) {
        const rows = idx.slice(s * batch, (s + 1) * batch).map((i) => train[i]);
        const r = await trainer.step(chatBatch(rows, length, pad, inputs), hp.learningRate);
        sum += r.loss;
        run.onStep?.(trainer.steps, total, r.loss);
        if (trainer.steps % every === 0 && s + 1 < perEpoch)
          await run.onCheckpoint?.(trainer.state(), epoch - 1);
      }
      // A resumed epoch averages the steps this run took (its earlier ones are in the curve already).
      trainLoss = sum / Math.max(1, perEpoch - done);
      validationLoss = validation.length
        ? (await trainer.evaluate(chatBatch(validation, length, pad, inputs))).loss
        : null;
      run.onEpoch?.(epoch, trainer.steps, trainLoss, validationLoss);
      await run.onCheckpoint?.(trainer.state(), epoch);
    }
    trainer.syncParameters();
    return {
      merged: mergeLora(bytes, plan, spec.params, hp.alpha / hp.rank),
      steps: trainer.steps,
      trainLoss,
      validationLoss,
      adapterParameters: trainer.paramCount,
      targets: plan.map((t) => t.name),
      adapter: peftAdapter(plan, spec.params, { rank: hp.rank, alpha: hp.alpha, base: run.base }),
    };
  } finally {
    await trainer.release();
  }
}
