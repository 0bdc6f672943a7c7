/**
 * Where a training-service step goes: the trainer's step loop pieces for the service's exact `cnn`
 * model and batch (built by the family from the built-in MNIST digits, as a job builds it), timed
 * in-process, next to variants of the model (the engine bench's CNN shape: 3×3 convs + dense 64)
 * and next to PyTorch running the same models on the same data (bench/peers/torch_step_profile.py).
 *
 * Each contender runs in its own fresh process, one at a time, rotated each repetition (the machine
 * is shared: compare ratios measured side by side, not absolutes).
 *
 *   node --import tsx bench/train/step-profile.ts                 (REPS=5 SECONDS=3)
 *   VARIANTS=service,bench-shape node --import tsx bench/train/step-profile.ts
 *
 * maas pieces per step (ms): `batch` (stream.next: gather rows into tensors), `run` (trainer.step:
 * feeds, session.run, outputs kept as next inputs, loss read back), plus once per measurement the
 * cost of the service's per-checkpoint work (trainer.state(): copies of params + Adam state) and of
 * one validation pass. `CPU ms/step` (process CPU time, all threads, per step) is the figure to
 * compare on this machine: cores are shared equally between login sessions (sched_autogroup), so
 * steps/s follows the session's share of the moment while CPU time per step stays put.
 *
 * Measured 2026-11-28, load 20–25, service variant: maas 15.5–18.1 steps/s vs PyTorch 9.2–12.8,
 * 18–20 vs 33–40 CPU ms/step (docs/benchmarks.md, "Time to MNIST 98%", has the analysis).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { batches, loadForTraining } from '../../src/data/index';
import { compileTrainStep } from '../../src/engine/train/compile';
import { families, validateHyperparameters } from '../../src/models/families/index';
import * as nn from '../../src/nn/index';
import { trainerSessionOptions } from '../../src/platform/training/trainer';
import { PYTHON, torchEnv } from '../lib/spawn';
import { summarize } from '../lib/stats';
import { exportMnistSplit } from './mnist-split';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const REPS = Number(process.env.REPS ?? 5);
const SECONDS = Number(process.env.SECONDS ?? 3);
const WARMUP = 5;

/** Model variants: `cnn` family hyperparameters (the same for the torch peer). */
const VARIANTS: Record<string, { kernel: number; channels: number[]; hidden: number; threads?: number }> = {
  // The service's job: the family's defaults.
  service: { kernel: 5, channels: [16, 32], hidden: 0 },
  // The engine bench's CNN (bench/maas/cnn.ts): 3×3 convs, dense 64.
  'bench-shape': { kernel: 3, channels: [16, 32], hidden: 64 },
  // One difference at a time.
  'k3-no-hidden': { kernel: 3, channels: [16, 32], hidden: 0 },
  'k5-hidden64': { kernel: 5, channels: [16, 32], hidden: 64 },
  // The service's model with one intra-op thread (both contenders).
  'service-1thread': { kernel: 5, channels: [16, 32], hidden: 0, threads: 1 },
};

interface Sample {
  steps_per_s: number;
  batch_ms: number;
  step_ms: number;
  params: number;
  /** CPU time (all threads) per step (ms): what a step costs on a loaded machine. */
  cpu_ms: number;
  state_ms?: number;
  validate_ms?: number;
}

/** The child: one contender, one variant. Prints one JSON line. */
async function maasChild(variant: string): Promise<Sample> {
  const v = VARIANTS[variant];
  const family = families.get('cnn');
  const hp = validateHyperparameters(family, { kernel: v.kernel, channels: v.channels, hidden: v.hidden });
  const data = await loadForTraining(
    { builtin: 'mnist' },
    { task: family.task, seed: 0, validationFraction: 0.1, ...family.loadOptions(hp) },
  );
  const batchSize = Number(hp.batch_size);
  const spec = data.spec.kind === 'image' ? data.spec : null;
  const classes = spec?.target?.classes.length ?? 0;
  const model = family.build(
    { spec: data.spec, inputDims: data.inputs.dims.slice(1), classes },
    hp,
    batchSize,
  );
  const trainer = await compileTrainStep({
    model,
    optimizer: nn.adam(),
    session: trainerSessionOptions(v.threads ?? 2),
  });
  const stream = batches(data, 'train', { batchSize, seed: 0, dropLast: true });
  const lr = Number(hp.learning_rate);
  let batchS = 0;
  let stepS = 0;
  const one = async () => {
    const t0 = performance.now();
    const b = stream.next();
    const t1 = performance.now();
    await trainer.step({ x: b.inputs, y: b.targets }, lr);
    const t2 = performance.now();
    batchS += t1 - t0;
    stepS += t2 - t1;
  };
  for (let i = 0; i < WARMUP; i++) await one();
  batchS = 0;
  stepS = 0;
  let steps = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (steps < 5 || performance.now() - start < SECONDS * 1000) {
    await one();
    steps++;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  const s0 = performance.now();
  trainer.state();
  const stateMs = performance.now() - s0;
  const v0 = performance.now();
  const val = batches(data, 'validation', { batchSize: 512, shuffle: false });
  for (let i = 0; i < val.batchesPerEpoch; i++) {
    const b = val.next();
    await trainer.evaluate({ x: b.inputs, y: b.targets });
  }
  const validateMs = performance.now() - v0;
  await trainer.release();
  return {
    steps_per_s: steps / seconds,
    batch_ms: batchS / steps,
    step_ms: stepS / steps,
    params: trainer.paramCount,
    cpu_ms: cpuMs,
    state_ms: stateMs,
    validate_ms: validateMs,
  };
}

function spawnLine(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.trim()) last = l;
    });
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      else resolve(JSON.parse(last) as Sample);
    });
  });
}

function runContender(who: 'maas' | 'torch', variant: string, dataDir: string): Promise<Sample> {
  if (who === 'maas')
    return spawnLine(process.execPath, ['--import', 'tsx', SELF, '--child', variant], ROOT, process.env);
  const v = VARIANTS[variant];
  const args = ['torch_step_profile.py', '--data', dataDir, '--kernel', String(v.kernel)];
  args.push('--channels', v.channels.join(','), '--hidden', String(v.hidden), '--seconds', String(SECONDS));
  args.push('--threads', String(v.threads ?? 2));
  return spawnLine(PYTHON, args, join(ROOT, 'bench', 'peers'), { ...process.env, ...torchEnv() });
}

async function main(): Promise<void> {
  const names = (process.env.VARIANTS ?? Object.keys(VARIANTS).join(',')).split(',');
  for (const n of names) if (!VARIANTS[n]) throw new Error(`unknown variant ${n}`);
  const contenders = names.flatMap((n) => [`maas:${n}`, `torch:${n}`]);
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-step-profile-'));
  const samples: Record<string, Sample[]> = Object.fromEntries(contenders.map((c) => [c, []]));
  const loads: number[] = [];
  try {
    await exportMnistSplit(dataDir, { seed: 0, validationFraction: 0.1 });
    for (let r = 0; r < REPS; r++) {
      // Rotate the order each repetition so no contender always runs first.
      const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]);
      for (const c of order) {
        const [who, variant] = c.split(':') as ['maas' | 'torch', string];
        const s = await runContender(who, variant, dataDir);
        samples[c].push(s);
        process.stderr.write(`rep ${r + 1}/${REPS} ${c}: ${JSON.stringify(s)}\n`);
      }
      loads.push(loadavg()[0]);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  printReport(names, samples, loads);
}

const fmt = (xs: number[], d = 1) => {
  const s = summarize(xs);
  return `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
};

function printReport(names: string[], samples: Record<string, Sample[]>, loads: number[]): void {
  const lines = [
    `REPS=${REPS} SECONDS=${SECONDS}; load 1 min: ${fmt(loads)}; cells: median (min–max)`,
    '',
    '| variant | params | maas steps/s | torch steps/s | maas/torch per rep | maas CPU ms/step | torch CPU ms/step | maas batch ms | maas run ms | torch step ms | maas state() ms | maas validation ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const n of names) {
    const m = samples[`maas:${n}`];
    const t = samples[`torch:${n}`];
    const ratio = m.map((s, i) => s.steps_per_s / t[i].steps_per_s);
    lines.push(
      `| ${n} | ${m[0].params} | ${fmt(m.map((s) => s.steps_per_s))} | ${fmt(t.map((s) => s.steps_per_s))} | ` +
        `${fmt(ratio, 2)} | ${fmt(m.map((s) => s.cpu_ms))} | ${fmt(t.map((s) => s.cpu_ms))} | ${fmt(
          m.map((s) => s.batch_ms),
          3,
        )} | ${fmt(m.map((s) => s.step_ms))} | ` +
        `${fmt(t.map((s) => s.step_ms))} | ${fmt(
          m.map((s) => s.state_ms ?? 0),
          2,
        )} | ${fmt(
          m.map((s) => s.validate_ms ?? 0),
          0,
        )} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  maasChild(process.argv[childAt + 1]).then(
    (s) => process.stdout.write(`${JSON.stringify(s)}\n`),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
