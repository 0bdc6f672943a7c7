/**
 * What `maas train --follow` and `maas trainings follow ID` show while a job runs: a live progress
 * bar on a TTY (loss, steps/s, ETA), plain lines otherwise, one line per epoch and notice, then a
 * summary. The event stream resumes after a dropped connection with `Last-Event-ID`
 * (`TrainingClient.events`), so a job followed across a server restart shows each event once.
 */
import type { Training, TrainingClient, TrainingEvent } from '../sdk/training';

export interface TrainIO {
  out: (s: string) => void;
  /** Warnings go here (stderr), so stdout stays the answer alone. */
  err?: (s: string) => void;
  env: Record<string, string | undefined>;
  /** Rewrites the current terminal line (TTY only); absent → plain lines. */
  progress?: (line: string) => void;
}

/** Follows job `id` from its first event to its end; true when it succeeded. */
export async function followTraining(c: TrainingClient, id: string, io: TrainIO): Promise<boolean> {
  const state = { lastLine: 0 };
  for await (const e of c.events(id)) show(e, io, state);
  const final = await c.getTraining(id);
  await summary(c, final, io);
  return final.status === 'succeeded';
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
  io.out(`done in ${seconds} s: ${headlineOf(m)}`);
  io.out(`registered ${t.result.model} version ${t.result.version}; try:`);
  io.out(`  maas predict ${t.result.model} ${await exampleInput(c, t)}`);
}

/** Classifiers and regressors have their own headline; other jobs (LoRA) their validation loss. */
function headlineOf(m: Record<string, number>): string {
  if (typeof m.accuracy === 'number')
    return `validation accuracy ${(m.accuracy * 100).toFixed(2)}%, macro-F1 ${fmt(m.macroF1)}`;
  if (typeof m.rmse === 'number') return `validation RMSE ${fmt(m.rmse)}, MAE ${fmt(m.mae)}`;
  return `validation loss ${fmt(m.validationLoss)}`;
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
