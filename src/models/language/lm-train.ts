/**
 * One training loop for every token-level language model here (gpt, lstm-lm): random windows of
 * the training split, AdamW with warm-up + cosine decay, then the mean next-token loss on the
 * held-out windows, converted to bits per character.
 */
import type { Tokenizer } from '../../data/index';
import { compileTrainStep } from '../../engine/index';
import * as nn from '../../nn/index';
import { bitsPerChar, type ProseSplit, unigramBitsPerChar, validationBatches, WindowSampler } from './corpus';

export interface LmTrainOptions {
  steps: number;
  batch: number;
  /** Tokens per training window (and per validation window). */
  seq: number;
  lr: number;
  warmup?: number;
  weightDecay?: number;
  seed: number;
  /** Validation windows to score (default all of the held-out text). */
  maxValidationWindows?: number;
  /** Called every `progressEvery` steps (default 50) with the running mean loss (nats/token). */
  onProgress?: (p: { step: number; steps: number; loss: number; elapsedMs: number }) => void;
  progressEvery?: number;
}

export interface LmTrainResult {
  /** Mean held-out loss in bits per character (nats/token ÷ ln 2 ÷ chars/token). */
  validationBitsPerChar: number;
  validationTokens: number;
  /** The unigram baseline (training-split character frequencies) on exactly the scored characters. */
  unigramBitsPerChar: number;
  finalTrainLoss: number;
  trainMs: number;
  /** Process CPU time (all ORT threads) per training step, ms: unlike wall time, load does not skew it. */
  cpuMsPerStep: number;
  steps: number;
  parameters: number;
}

/** Encode text as int32 ids. */
export function encodeIds(tokenizer: Tokenizer, text: string): Int32Array {
  return Int32Array.from(tokenizer.encode(text));
}

/**
 * Train `model` in place (its Parameters hold the trained values afterwards) and score it on the
 * held-out split, in bits per character of the text the scored tokens cover (any tokenizer).
 */
export async function trainLanguageModel(
  model: nn.TokenModel,
  tokenizer: Tokenizer,
  split: ProseSplit,
  o: LmTrainOptions,
): Promise<LmTrainResult> {
  const trainIds = encodeIds(tokenizer, split.train);
  const validIds = encodeIds(tokenizer, split.validation);
  const trainer = await compileTrainStep({
    model: nn.languageModelSpec(model, { batch: o.batch, seq: o.seq }),
    optimizer: nn.adamW({ weightDecay: o.weightDecay ?? 0.01, clipGradNorm: 1 }),
  });
  try {
    const schedule = nn.cosine({ base: o.lr, total: o.steps, min: o.lr / 10, warmup: o.warmup ?? 50 });
    const sampler = new WindowSampler(trainIds, o.seq, o.seed);
    const every = o.progressEvery ?? 50;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let running = 0;
    let last = 0;
    for (let s = 0; s < o.steps; s++) {
      last = (await trainer.step(sampler.batch(o.batch), schedule(s))).loss;
      running += last;
      if ((s + 1) % every === 0 || s + 1 === o.steps) {
        o.onProgress?.({
          step: s + 1,
          steps: o.steps,
          loss: running / ((s % every) + 1),
          elapsedMs: performance.now() - t0,
        });
        running = 0;
      }
    }
    const trainMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    trainer.syncParameters();
    let nats = 0;
    let tokens = 0;
    for (const b of validationBatches(validIds, o.seq, o.batch, o.maxValidationWindows)) {
      const n = b.x.data.length;
      nats += (await trainer.evaluate(b)).loss * n;
      tokens += n;
    }
    // The scored targets are tokens 1 … `tokens` of the held-out split (windows are consecutive),
    // so their decoded text is exactly the characters the loss was paid for, whatever the tokenizer.
    const scored = tokenizer.decode(Array.from(validIds.subarray(1, 1 + tokens)));
    return {
      validationBitsPerChar: bitsPerChar(nats / tokens, [...scored].length / tokens),
      validationTokens: tokens,
      unigramBitsPerChar: unigramBitsPerChar(split.train, scored),
      finalTrainLoss: last,
      trainMs,
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / o.steps,
      steps: o.steps,
      parameters: model.params.reduce((n, p) => n + p.value.data.length, 0),
    };
  } finally {
    await trainer.release();
  }
}
