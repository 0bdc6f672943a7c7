/**
 * CLI commands for training as a service:
 *
 *   maas datasets push NAME FILE | ls | show NAME | rm NAME
 *   maas train --family F --dataset D --model M [--target T] [--epochs N --batch-size N
 *              --learning-rate X --hidden 64,32 ...] [--follow]
 *   maas trainings ls | show ID | cancel ID
 *   maas predict NAME --input '{"x1": 0.3}' | --input 'some text' | --image FILE
 *
 * `--follow` draws a live progress bar on a TTY (loss, steps/s, ETA) and prints plain lines
 * otherwise, then a summary.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { MaasApiError } from '../sdk/client';
import { type Training, TrainingClient, type TrainingEvent } from '../sdk/training';
import { only, unknownFlag, VERB_FLAGS } from './flags';
import { connection, fileBlob } from './shared';

export interface TrainIO {
  out: (s: string) => void;
  /** Warnings go here (stderr), so stdout stays the answer alone. */
  err?: (s: string) => void;
  env: Record<string, string | undefined>;
  /** Rewrites the current terminal line (TTY only); absent → plain lines. */
  progress?: (line: string) => void;
}

export interface TrainArgs {
  positional: string[];
  flags: Record<string, string>;
}

/** Hyperparameters that are lists (`--hidden 64,32`). */
const LIST_HYPERPARAMETERS = new Set(['hidden', 'channels', 'kernel_sizes']);
const TRAIN_FLAGS = VERB_FLAGS.train;

/** `batch_size` ↔ `--batch-size`. */
export const flagOfHyperparameter = (name: string) => `--${name.replaceAll('_', '-')}`;

/** The families and their hyperparameters, loaded only by `maas train` (they pull in the model code). */
async function familyRules(): Promise<
  { name: string; description: string; rules: Record<string, HpRule> }[]
> {
  const { families, rulesOf } = await import('../models/families/index');
  return families.standalone().map((name) => {
    const f = families.get(name);
    return { name, description: f.description, rules: rulesOf(f) };
  });
}

interface HpRule {
  kind: string;
  default: unknown;
  doc: string;
}

/**
 * A flag that is neither a train flag nor a hyperparameter of the family fails here, before any
 * request: `unknown option --epoch for maas train --family mlp (did you mean --epochs?)`.
 */
async function checkHyperparameterFlags(flags: Record<string, string>): Promise<void> {
  const all = await familyRules();
  const family = all.find((f) => f.name === flags['--family']);
  const known = [
    ...TRAIN_FLAGS,
    ...(family ? Object.keys(family.rules) : all.flatMap((f) => Object.keys(f.rules))).map(
      flagOfHyperparameter,
    ),
  ];
  for (const flag of Object.keys(flags))
    if (!known.includes(flag))
      throw unknownFlag(flag, family ? `train --family ${family.name}` : 'train', known);
}

/** `maas train --help`: the train flags, then each family's hyperparameters with their defaults. */
export async function trainHelp(): Promise<string[]> {
  const lines: string[] = [];
  for (const f of await familyRules()) {
    lines.push('', `hyperparameters of --family ${f.name} (${f.description}):`);
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

/** `--epochs 3 --hidden 64,32` → `{epochs: 3, hidden: [64, 32]}`; other flags pass by name. */
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
  return hp;
}

const fmt = (n: unknown, digits = 4) => (typeof n === 'number' ? n.toFixed(digits) : '-');

function eta(seconds: unknown): string {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One event → what the user sees: a redrawn bar on a TTY, or a plain line now and then. */
function show(e: TrainingEvent, io: TrainIO, state: { lastLine: number }): void {
  const d = e.data;
  if (e.event === 'progress') {
    const frac = Number(d.step) / Number(d.totalSteps);
    const width = 24;
    const bar = `${'█'.repeat(Math.round(frac * width))}${'░'.repeat(width - Math.round(frac * width))}`;
    const line = `${bar} ${String(Math.round(frac * 100)).padStart(3)}%  epoch ${d.epoch}/${d.epochs}  step ${d.step}/${d.totalSteps}  loss ${fmt(d.loss)}  ${fmt(d.stepsPerSecond, 1)} steps/s  ETA ${eta(d.etaSeconds)}`;
    if (io.progress) io.progress(line);
    else if (Date.now() - state.lastLine > 2000) {
      state.lastLine = Date.now();
      io.out(line.slice(width + 1).trim());
    }
  } else if (e.event === 'epoch') {
    const v = d.validation as Record<string, number>;
    if (io.progress) io.progress('');
    io.out(
      `epoch ${d.epoch}/${d.epochs}: validation loss ${fmt(v.loss)}${'accuracy' in v ? `, accuracy ${fmt(v.accuracy * 100, 2)}%` : `, rmse ${fmt(v.rmse)}`}`,
    );
  } else if (e.event in NOTICES) {
    if (io.progress) io.progress('');
    io.out(NOTICES[e.event](d));
  }
}

/** Events shown as one line each (progress and epoch events have their own display). */
const NOTICES: Record<string, (d: Record<string, unknown>) => string> = {
  status: (d) => `status: ${d.status}${d.error ? ` (${d.error})` : ''}`,
  resumed: (d) => `resumed from checkpoint at step ${d.step}`,
  retrying: (d) =>
    `${d.reason}: retry ${d.attempt} of ${d.maxRetries}${typeof d.delayMs === 'number' && d.delayMs > 0 ? ` in ${(d.delayMs / 1000).toFixed(1)} s` : ''}, from checkpoint at step ${d.fromStep}`,
};

async function summary(c: TrainingClient, t: Training, io: TrainIO): Promise<void> {
  if (t.status !== 'succeeded' || !t.result) {
    io.out(`training ${t.id} ${t.status}${t.error ? `: ${t.error}` : ''}`);
    return;
  }
  const m = t.result.metrics as Record<string, number>;
  const started = t.startedAt ? Date.parse(t.startedAt) : Date.parse(t.createdAt);
  const seconds = ((Date.parse(t.finishedAt ?? '') - started) / 1000).toFixed(1);
  const headline =
    'accuracy' in m
      ? `validation accuracy ${(m.accuracy * 100).toFixed(2)}%, macro-F1 ${m.macroF1.toFixed(4)}`
      : `validation RMSE ${m.rmse.toFixed(4)}, MAE ${m.mae.toFixed(4)}`;
  io.out(`done in ${seconds} s: ${headline}`);
  io.out(`registered ${t.result.model} version ${t.result.version}; try:`);
  io.out(`  maas predict ${t.result.model} ${await exampleInput(c, t)}`);
}

/** A `maas predict` argument that fits the job's dataset: its first preview row without the target. */
async function exampleInput(c: TrainingClient, t: Training): Promise<string> {
  const d = await c.getDataset(t.dataset).catch(() => null);
  if (d?.kind === 'image') return '--image FILE.png';
  if (d?.kind === 'text') return "--input 'some text to classify'";
  const row = (d?.preview as Record<string, unknown>[] | undefined)?.[0];
  if (!row) return '--input \'{"column": value, ...}\'';
  const numeric = new Set(
    ((d?.schema ?? []) as { name: string; kind: string }[])
      .filter((s) => s.kind === 'numeric')
      .map((s) => s.name),
  );
  const target = t.target ?? 'label';
  const example = Object.fromEntries(
    Object.entries(row)
      .filter(([k]) => k !== target)
      .map(([k, v]) => [k, numeric.has(k) && v !== '' && Number.isFinite(Number(v)) ? Number(v) : v]),
  );
  return `--input '${JSON.stringify(example)}'`;
}

/**
 * The server names JSON fields (`target`, `hyperparameters.learning_rate`); a CLI user typed
 * flags, so say which flag sets the field: `... (set it with --learning-rate)`.
 */
export function withFlagHint(e: unknown): unknown {
  if (!(e instanceof MaasApiError)) return e;
  const hp = /\bhyperparameters\.([a-z_]+)/.exec(e.message);
  const flag = hp
    ? `--${hp[1].replaceAll('_', '-')}`
    : /\btarget\b/.test(e.message)
      ? '--target COLUMN'
      : null;
  if (!flag) return e;
  return new MaasApiError(e.status, e.code, `${e.message} (set it with ${flag})`, e.retryAfterSeconds);
}

export async function trainCommand(p: TrainArgs, io: TrainIO): Promise<boolean> {
  const usage = 'maas train --family F --dataset D --model M [--target T] [--epochs N ...] [--follow]';
  await checkHyperparameterFlags(p.flags);
  const c = await clientOf(p.flags, io);
  const job = await c
    .createTraining({
      family: need(p.flags['--family'], usage),
      dataset: need(p.flags['--dataset'], usage),
      model: need(p.flags['--model'], usage),
      ...(p.flags['--target'] ? { target: p.flags['--target'] } : {}),
      hyperparameters: hyperparametersOf(p.flags),
    })
    .catch((e: unknown) => {
      throw withFlagHint(e);
    });
  io.out(`training ${job.id} queued: ${job.family} on ${job.dataset} → model ${job.model}`);
  if (!('--follow' in p.flags)) return true;
  const state = { lastLine: 0 };
  for await (const e of c.events(job.id)) show(e, io, state);
  const final = await c.getTraining(job.id);
  await summary(c, final, io);
  return final.status === 'succeeded';
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
  else if (sub === 'cancel')
    io.out(`training ${id}: ${(await c.cancelTraining(need(id, 'maas trainings cancel ID'))).status}`);
  else throw new Error(`unknown command: trainings ${sub ?? ''} (ls, show, cancel)`);
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
