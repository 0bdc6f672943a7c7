/**
 * A LoRA fine-tuning run on a decoder folder: read the folder's graph, tokenizer and chat template,
 * encode the chats, train the adapters with Adam (train loss per step, validation loss per epoch),
 * then write the merged graph. The training service calls it in its trainer child process
 * (`platform/training/lora-run.ts` adds checkpoints' place, events and the folder packing).
 *
 *   const r = await trainLora({ folder, graphPath: 'onnx/model.onnx', train, validation, hp, onProgress });
 *   r.merged   // the new graph's bytes; the folder's other files are the base's
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../../../common/errors';
import { compileTrainStep, decodeModel, type SessionOptions } from '../../../engine/index';
import * as nn from '../../../nn/index';
import { loadTextAssets } from '../../hf/index';
import type { TemplateMessage } from '../../hf/template';
import { chatBatch, type EncodedChat, encodeChat } from './data';
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
  train: readonly TemplateMessage[][];
  validation: readonly TemplateMessage[][];
  hp: LoraHyperparameters;
  session?: SessionOptions;
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
  if (!assets.template)
    fail('unprocessable', 'the model has no chat template to render the training chats with', {
      pointer: 'model',
    });
  const bytes = await read(run.graphPath);
  if (!bytes) return fail('unprocessable', `the model folder has no ${run.graphPath}`, { pointer: 'model' });
  const info = decodeModel(bytes);
  const inputs = info.inputs.map((i) => ({ name: i.name, shape: i.shape ?? [] }));
  const encode = (chats: readonly TemplateMessage[][]) =>
    chats.map((c) => encodeChat(c, assets.template!, assets.tokenizer));
  const train = encode(run.train);
  const validation = encode(run.validation);
  const length = Math.max(...[...train, ...validation].map((r) => r.ids.length));
  const pad = assets.eosIds[0] ?? 0;
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
    const rng = new nn.Rng(hp.seed);
    const perEpoch = Math.max(1, Math.floor(train.length / batch));
    const total = perEpoch * hp.epochs;
    const lossOf = async (rows: readonly EncodedChat[]) => {
      const r = await trainer.evaluate(chatBatch(rows, length, pad, inputs));
      return r.loss;
    };
    let trainLoss = Number.NaN;
    let validationLoss: number | null = null;
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const idx = order(train.length, rng);
      let sum = 0;
      for (let s = 0; s < perEpoch; s++) {
        const rows = idx.slice(s * batch, (s + 1) * batch).map((i) => train[i]);
        const r = await trainer.step(chatBatch(rows, length, pad, inputs), hp.learningRate);
        sum += r.loss;
        run.onStep?.(trainer.steps, total, r.loss);
      }
      trainLoss = sum / perEpoch;
      validationLoss = validation.length ? await lossOf(validation) : null;
      run.onEpoch?.(epoch, trainer.steps, trainLoss, validationLoss);
    }
    trainer.syncParameters();
    return {
      merged: mergeLora(bytes, plan, spec.params, hp.alpha / hp.rank),
      steps: trainer.steps,
      trainLoss,
      validationLoss,
      adapterParameters: trainer.paramCount,
      targets: plan.map((t) => t.name),
    };
  } finally {
    await trainer.release();
  }
}
