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
    value: (raw) => {
      const names = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      // An empty list would read as "no names given": the server would train by layers (all of them).
      if (names.length === 0 || raw === 'true')
        throw new UsageError('--train needs weight names, e.g. --train fc.weight,fc.bias');
      return names;
    },
  },
  '--new-head': {
    hyperparameter: 'replace_head',
    // A switch: `--new-head=false` must not turn it on.
    value: (raw) => {
      if (raw !== 'true') throw new UsageError('--new-head is a switch: give it without a value');
      return 'always';
    },
  },
};

/** `trainable_layers` → `--train-last`: the fine-tuning flag that sets a hyperparameter (for error hints). */
export function fineTuneFlagOf(hyperparameter: string): string | null {
  return (
    Object.keys(FINE_TUNE_FLAGS).find((f) => FINE_TUNE_FLAGS[f].hyperparameter === hyperparameter) ?? null
  );
}

/** Which of the fine-tuning choices exclude each other (one way to say what is trained). */
const EXCLUSIVE = ['trainable_layers', 'trainable_parameters'];

/** The keys of `--hyperparameters` JSON, when it parses (a bad one is refused where it is read). */
function jsonKeys(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
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
  const inJson = jsonKeys(flags['--hyperparameters']);
  for (const flag of given) {
    const field = FINE_TUNE_FLAGS[flag].hyperparameter;
    const own = `--${field.replaceAll('_', '-')}`;
    if (own in flags) throw new UsageError(`${flag} and ${own} both set hyperparameters.${field}: give one`);
    // The flag would silently win over the JSON (or the server would ignore one of two choices).
    const clash = inJson.find((k) => k === field || (EXCLUSIVE.includes(field) && EXCLUSIVE.includes(k)));
    if (clash)
      throw new UsageError(`${flag} and --hyperparameters' ${clash} both say what is trained: give one`);
  }
  for (const flag of given) FINE_TUNE_FLAGS[flag].value(flags[flag]);
}
