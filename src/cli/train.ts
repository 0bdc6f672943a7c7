/**
 * CLI commands for training as a service:
 *
 *   maas datasets push NAME FILE | ls | show NAME | rm NAME
 *   maas train --family F --dataset D --model M [--target T] [--epochs N --batch-size N
 *              --learning-rate X --hidden 64,32 ...] [--follow]
 *   maas train --base NAME[:VERSION] --dataset D --model M [--train-last N | --train P,P]
 *              [--new-head] [--epochs N ...] [--follow]          (fine-tuning, ./train-base.ts)
 *   maas trainings ls | show ID | follow ID | cancel ID
 *   maas predict NAME --input '{"x1": 0.3}' | --input 'some text' | --image FILE
 *
 * `--follow` and `trainings follow` show the job's progress, then a summary (./train-follow.ts).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { MaasApiError } from '../sdk/client';
import { TrainingClient } from '../sdk/training';
import { only, UsageError, unknownFlag, VERB_FLAGS } from './flags';
import { connection, fileBlob } from './shared';
import { checkFineTuneFlags, fineTuneFlagOf, fineTuneHyperparameters } from './train-base';
import { followTraining, type TrainIO } from './train-follow';

export interface TrainArgs {
  positional: string[];
  flags: Record<string, string>;
}

/** Hyperparameters that are lists (`--hidden 64,32`). */
const LIST_HYPERPARAMETERS = new Set(['hidden', 'channels', 'kernel_sizes']);
const TRAIN_FLAGS = VERB_FLAGS.train;

/** `batch_size` ↔ `--batch-size`. */
export const flagOfHyperparameter = (name: string) => `--${name.replaceAll('_', '-')}`;

interface FamilyRules {
  name: string;
  description: string;
  /** Fine-tunes a `base` model (onnx, lora) rather than training from scratch. */
  needsBase: boolean;
  rules: Record<string, HpRule>;
}

/**
 * The families and their hyperparameters, loaded only by `maas train` (they pull in the model
 * code); `defaultFineTune` is the family a job with a base and no family gets.
 */
async function familyRules(): Promise<{ all: FamilyRules[]; defaultFineTune: string }> {
  const { families, rulesOf, IMPORTED_FAMILY } = await import('../models/families/index');
  const all = families.list().map((f) => ({
    name: f.name,
    description: f.description,
    needsBase: f.needsBase === true,
    rules: rulesOf(f),
  }));
  return { all, defaultFineTune: IMPORTED_FAMILY };
}

interface HpRule {
  kind: string;
  default: unknown;
  doc: string;
}

/**
 * A flag that is neither a train flag nor a hyperparameter of the family fails here, before any
 * request: `unknown option --epoch for maas train --family mlp (did you mean --epochs?)`. With
 * `--base`, the family is the fine-tuning one (onnx unless `--family lora`).
 */
async function checkTrainFlags(flags: Record<string, string>): Promise<void> {
  const { all, defaultFineTune } = await familyRules();
  checkFineTuneFlags(
    flags,
    all.filter((f) => f.needsBase).map((f) => f.name),
  );
  const name = flags['--base'] !== undefined ? (flags['--family'] ?? defaultFineTune) : flags['--family'];
  const family = all.find((f) => f.name === name);
  const candidates = family ? [family] : all.filter((f) => !f.needsBase);
  const known = [
    ...TRAIN_FLAGS,
    ...candidates.flatMap((f) => Object.keys(f.rules)).map(flagOfHyperparameter),
  ];
  const verb =
    flags['--base'] !== undefined
      ? `train --base (family ${name})`
      : family
        ? `train --family ${name}`
        : 'train';
  for (const flag of Object.keys(flags)) if (!known.includes(flag)) throw unknownFlag(flag, verb, known);
}

/** `maas train --help`: the train flags, then each family's hyperparameters with their defaults. */
export async function trainHelp(): Promise<string[]> {
  const lines: string[] = [];
  const { all, defaultFineTune } = await familyRules();
  for (const f of all) {
    const how = !f.needsBase
      ? `--family ${f.name}`
      : f.name === defaultFineTune
        ? `--base [--family ${f.name}]`
        : `--base --family ${f.name}`;
    lines.push('', `hyperparameters of ${how} (${f.description}):`);
    const rows = Object.entries(f.rules).map(([name, r]) => {
      const value = r.kind === 'choice' ? 'NAME' : r.kind === 'ints' ? 'N,N' : r.kind === 'int' ? 'N' : 'X';
      const shown = Array.isArray(r.default) ? r.default.join(',') : String(r.default);
      return [`${flagOfHyperparameter(name)} ${value}`, `${r.doc} (default ${shown})`];
    });
    const width = Math.max(...rows.map((r) => r[0].length)) + 2;
    for (const [flag, doc] of rows) lines.push(`  ${flag.padEnd(width)}${doc}`);
  }
  return lines;
}

async function clientOf(flags: Record<string, string>, io: TrainIO): Promise<TrainingClient> {
  return new TrainingClient(await connection(flags, io.env));
}

function need(v: string | undefined, usage: string): string {
  if (!v) throw new Error(`usage: ${usage}`);
  return v;
}

export async function datasetsCommand(p: TrainArgs, io: TrainIO): Promise<void> {
  const [, sub, name, file] = p.positional;
  only(p.flags, 'datasets');
  const c = await clientOf(p.flags, io);
  if (sub === 'push') {
    const d = await c.pushDataset(
      need(name, 'maas datasets push NAME FILE'),
      await fileBlob(need(file, 'maas datasets push NAME FILE')),
    );
    io.out(`pushed dataset ${d.name}: ${d.format}, ${d.kind}, ${d.rows} rows (${d.digest})`);
    const schema = (d.schema ?? []) as { name: string; kind: string }[];
    io.out(`  columns: ${schema.map((s) => `${s.name} (${s.kind})`).join(', ')}`);
    if (d.classBalance) io.out(`  classes: ${JSON.stringify(d.classBalance)}`);
  } else if (sub === 'ls') {
    for (const d of await c.listDatasets())
      io.out(
        `${d.name.padEnd(16)} ${d.kind.padEnd(8)} ${(d.builtin ? 'built-in' : d.format).padEnd(9)} ${d.rows ?? ''}`,
      );
  } else if (sub === 'show') {
    io.out(JSON.stringify(await c.getDataset(need(name, 'maas datasets show NAME')), null, 2));
  } else if (sub === 'rm') {
    await c.deleteDataset(need(name, 'maas datasets rm NAME'));
    io.out(`removed dataset ${name}`);
  } else throw new Error(`unknown command: datasets ${sub ?? ''} (push, ls, show, rm)`);
}

/**
 * `--epochs 3 --hidden 64,32` → `{epochs: 3, hidden: [64, 32]}`; other flags pass by name, the
 * fine-tuning ones (`--train-last 2`) as the hyperparameters they stand for.
 */
export function hyperparametersOf(flags: Record<string, string>): Record<string, unknown> {
  const hp: Record<string, unknown> = flags['--hyperparameters']
    ? JSON.parse(flags['--hyperparameters'])
    : {};
  for (const [flag, raw] of Object.entries(flags)) {
    if (TRAIN_FLAGS.includes(flag)) continue;
    const name = flag.replace(/^--/, '').replaceAll('-', '_');
    const num = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
    hp[name] = LIST_HYPERPARAMETERS.has(name) ? raw.split(',').map(num) : num(raw);
  }
  return { ...hp, ...fineTuneHyperparameters(flags) };
}

/**
 * The server names JSON fields (`target`, `hyperparameters.learning_rate`); a CLI user typed
 * flags, so say which flag sets the field: `... (set it with --learning-rate)`, or the
 * fine-tuning flag that sets it (`--train-last`, `--train`), however the user set it.
 */
export function withFlagHint(e: unknown): unknown {
  if (!(e instanceof MaasApiError)) return e;
  const hp = /\bhyperparameters\.([a-z_]+)/.exec(e.message);
  const flag = hp
    ? (fineTuneFlagOf(hp[1]) ?? flagOfHyperparameter(hp[1]))
    : /\btarget\b/.test(e.message)
      ? '--target COLUMN'
      : null;
  if (!flag) return e;
  return new MaasApiError(e.status, e.code, `${e.message} (set it with ${flag})`, e.retryAfterSeconds);
}

const TRAIN_USAGE = `maas train --family F | --base NAME[:VERSION] --dataset D --model M [--target T] [--epochs N ...] [--follow]`;

/** The request body: `family` to train from scratch, `base` (and a fine-tuning family, if named) to fine-tune. */
function newTrainingOf(flags: Record<string, string>) {
  const need = (flag: string) => {
    const v = flags[flag];
    if (v === undefined || v === 'true') throw new UsageError(`${flag} is missing; usage: ${TRAIN_USAGE}`);
    return v;
  };
  const source =
    flags['--base'] !== undefined
      ? { base: need('--base'), ...(flags['--family'] ? { family: flags['--family'] } : {}) }
      : { family: need('--family') };
  return {
    ...source,
    dataset: need('--dataset'),
    model: need('--model'),
    ...(flags['--target'] ? { target: flags['--target'] } : {}),
    hyperparameters: hyperparametersOf(flags),
  };
}

export async function trainCommand(p: TrainArgs, io: TrainIO): Promise<boolean> {
  if (p.flags['--family'] === undefined && p.flags['--base'] === undefined)
    throw new UsageError(
      `name --family F (train from scratch) or --base NAME[:VERSION] (fine-tune); usage: ${TRAIN_USAGE}`,
    );
  await checkTrainFlags(p.flags);
  const body = newTrainingOf(p.flags);
  const c = await clientOf(p.flags, io);
  const job = await c.createTraining(body).catch((e: unknown) => {
    throw withFlagHint(e);
  });
  const base = job.hyperparameters.base;
  const what = typeof base === 'string' ? `${job.family} fine-tuning of ${base}` : job.family;
  io.out(`training ${job.id} queued: ${what} on ${job.dataset} → model ${job.model}`);
  if (!('--follow' in p.flags)) return true;
  return followTraining(c, job.id, io);
}

export async function trainingsCommand(p: TrainArgs, io: TrainIO): Promise<void> {
  const [, sub, id] = p.positional;
  only(p.flags, 'trainings');
  const c = await clientOf(p.flags, io);
  if (sub === 'ls') {
    for (const t of await c.listTrainings())
      io.out(
        `${t.id}  ${t.status.padEnd(9)} ${t.family.padEnd(8)} ${t.dataset.padEnd(12)} → ${t.model}${t.result ? ` v${t.result.version}` : ''}`,
      );
  } else if (sub === 'show')
    io.out(JSON.stringify(await c.getTraining(need(id, 'maas trainings show ID')), null, 2));
  else if (sub === 'follow') {
    // The same display as `maas train --follow`, from the job's first event: a finished job replays to its end.
    if (!(await followTraining(c, need(id, 'maas trainings follow ID'), io)))
      throw new Error('the training did not succeed');
  } else if (sub === 'cancel')
    io.out(`training ${id}: ${(await c.cancelTraining(need(id, 'maas trainings cancel ID'))).status}`);
  else throw new Error(`unknown command: trainings ${sub ?? ''} (ls, show, follow, cancel)`);
}

const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

/** `--input` JSON (a row, a list of rows or texts) or plain text; `--image FILE` → a data URL. */
async function predictInputs(flags: Record<string, string>): Promise<unknown[]> {
  if (flags['--image']) {
    const bytes = await readFile(flags['--image']);
    const type = IMAGE_TYPES[extname(flags['--image']).toLowerCase()] ?? 'image/png';
    return [`data:${type};base64,${bytes.toString('base64')}`];
  }
  const raw = need(
    flags['--input'],
    "maas predict NAME --input '{\"col\": 1}' | --input 'text' | --image FILE",
  );
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Not JSON: a text to classify.
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

export async function predictCommand(p: TrainArgs, io: TrainIO): Promise<void> {
  only(p.flags, 'predict');
  const name = need(p.positional[1], 'maas predict NAME --input ...');
  const c = await clientOf(p.flags, io);
  const { predictions, warnings } = await c.predict(name, await predictInputs(p.flags), {
    version: p.flags['--version'],
    strict: p.flags['--strict'] === 'true',
  });
  for (const w of warnings) (io.err ?? io.out)(`warning: ${w.detail}`);
  for (const pr of predictions) {
    if ('value' in pr) io.out(`${pr.value}`);
    else {
      const top = Object.entries(pr.probabilities)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`)
        .join(', ');
      io.out(`${pr.label}\t(${top})`);
    }
  }
}
