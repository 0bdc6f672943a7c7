/**
 * `maas train --base NAME[:VERSION]`: fine-tuning an uploaded model instead of training a family
 * from scratch. The fine-tuning flags are names for the API's own hyperparameters (see
 * src/platform/training/job-request.ts and the `onnx` family), so the body sent is exactly what
 * `POST /api/v1/trainings` documents and its 4xx answers read as they are.
 */
import { UsageError } from './flags';

interface FineTuneFlag {
  /** The field of `hyperparameters` the flag sets. */
  hyperparameter: string;
  value: (raw: string) => unknown;
}

const numberOr = (raw: string): unknown =>
  raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;

/** `--train-last 2` → `trainable_layers: 2`; `--train a,b` → `trainable_parameters: [a, b]`; … */
export const FINE_TUNE_FLAGS: Record<string, FineTuneFlag> = {
  '--train-last': { hyperparameter: 'trainable_layers', value: numberOr },
  '--train': {
    hyperparameter: 'trainable_parameters',
    value: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
  },
  '--new-head': { hyperparameter: 'replace_head', value: () => 'always' },
};

/** `trainable_layers` → `--train-last` when that is how the user set it (for error hints). */
export function fineTuneFlagOf(hyperparameter: string, flags: Record<string, string>): string | null {
  const flag = Object.keys(FINE_TUNE_FLAGS).find(
    (f) => f in flags && FINE_TUNE_FLAGS[f].hyperparameter === hyperparameter,
  );
  return flag ?? null;
}

/** The fine-tuning flags given, as hyperparameters. */
export function fineTuneHyperparameters(flags: Record<string, string>): Record<string, unknown> {
  const hp: Record<string, unknown> = {};
  for (const [flag, f] of Object.entries(FINE_TUNE_FLAGS))
    if (flag in flags) hp[f.hyperparameter] = f.value(flags[flag]);
  return hp;
}

/**
 * What the command line can get wrong before any request: `--family` beside `--base` (unless it
 * names a fine-tuning family, as LoRA needs), fine-tuning flags without a base, a flag and its
 * hyperparameter's own flag both, `--train-last` and `--train` both.
 */
export function checkFineTuneFlags(flags: Record<string, string>, fineTuneFamilies: readonly string[]): void {
  const family = flags['--family'];
  const base = flags['--base'];
  if (base !== undefined && family !== undefined && !fineTuneFamilies.includes(family))
    throw new UsageError(
      `--family ${family} and --base exclude each other: --family trains a new model from scratch, --base fine-tunes an uploaded one (beside --base, --family may only name a fine-tuning family: ${fineTuneFamilies.join(', ')})`,
    );
  const given = Object.keys(FINE_TUNE_FLAGS).filter((f) => f in flags);
  if (base === undefined && given.length > 0)
    throw new UsageError(
      `${given[0]} is for fine-tuning: name the model to start from with --base NAME[:VERSION]`,
    );
  if ('--train-last' in flags && '--train' in flags)
    throw new UsageError(
      '--train-last N and --train PARAM,PARAM exclude each other: train the last N layers, or exactly the weights named',
    );
  for (const flag of given) {
    const own = `--${FINE_TUNE_FLAGS[flag].hyperparameter.replaceAll('_', '-')}`;
    if (own in flags)
      throw new UsageError(
        `${flag} and ${own} both set hyperparameters.${FINE_TUNE_FLAGS[flag].hyperparameter}: give one`,
      );
  }
}
