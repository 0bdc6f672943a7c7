/**
 * Time to MNIST 98% through the service vs the same training in PyTorch.
 *
 * maas: `maas serve` in a child process, a `cnn` job (family defaults: conv 5×5 ×16 → pool → conv
 * 5×5 ×32 → pool → dense 10, batch 32, Adam 2e-3 with cosine decay to 1e-4) on the built-in MNIST
 * digits (10,000 images, 90/10 split, seed 0), started over HTTP and followed over SSE.
 * PyTorch: bench/peers/torch_mnist_time.py, the same model, init rule, optimizer, schedule, batch
 * and epochs on the SAME examples and split (exported by mnist-split.ts), validated at the same
 * points (each epoch end, on the same 1,000 held-out digits).
 *
 * Time to target = wall time from starting the job (POST / spawning python) until the client
 * sees the first epoch whose validation accuracy ≥ TARGET. Runs alternate A B, B A, … (REPS each).
 * Also: the service's overhead inside the trainer (checkpoints + events) as a share of step time.
 *
 *   node --import tsx bench/train/service.ts        (REPS=5 EPOCHS=5 TARGET=0.98 CHECKPOINT_EVERY=50)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TrainingClient } from '../../src/sdk/training';
import { PYTHON, torchEnv } from '../lib/spawn';
import { environment, KEY, ROOT, startServer, writeResults } from '../serve/harness';
import { exportMnistSplit } from './mnist-split';
import { type Contender, newProgress, type Rep, report, track } from './service-report';

const EPOCHS = Number(process.env.EPOCHS ?? 5);
const TARGET = Number(process.env.TARGET ?? 0.98);
const REPS = Number(process.env.REPS ?? 5);
const CHECKPOINT_EVERY = Number(process.env.CHECKPOINT_EVERY ?? 50);
const SEED = 0;
const VALIDATION_FRACTION = 0.1;

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function viaService(client: TrainingClient, model: string): Promise<Rep> {
  const t0 = performance.now();
  const job = await client.createTraining({
    family: 'cnn',
    dataset: 'mnist',
    model,
    hyperparameters: { epochs: EPOCHS, checkpoint_every: CHECKPOINT_EVERY, seed: SEED },
  });
  const rep = newProgress();
  let steps = 0;
  for await (const e of client.events(job.id)) {
    if (e.event !== 'epoch') continue;
    steps = Number(e.data.step);
    const accuracy = Number((e.data.validation as { accuracy?: number }).accuracy);
    track(rep, { epoch: Number(e.data.epoch), accuracy, seconds: seconds(t0) }, TARGET);
  }
  const done = await client.getTraining(job.id);
  if (done.status !== 'succeeded' || !done.result) throw new Error(`job ${done.status}: ${done.error}`);
  const t = (done.result as unknown as { timing: Record<string, number> }).timing;
  return {
    ...rep,
    totalSeconds: seconds(t0),
    finalAccuracy: Number(done.result.metrics.accuracy),
    stepSeconds: t.stepSeconds,
    stepCpuSeconds: t.stepCpuSeconds,
    steps,
    overhead: {
      checkpointSeconds: t.checkpointSeconds,
      eventSeconds: t.eventSeconds,
      validationSeconds: t.validationSeconds,
      checkpoints: t.checkpoints,
      events: t.events,
      share: (t.checkpointSeconds + t.eventSeconds) / t.stepSeconds,
    },
    loadAverage: loadavg()[0],
  };
}

async function viaTorch(dataDir: string): Promise<Rep> {
  const t0 = performance.now();
  const child = spawn(
    PYTHON,
    ['torch_mnist_time.py', '--data', dataDir, '--epochs', String(EPOCHS), '--seed', String(SEED)],
    {
      cwd: join(ROOT, 'bench', 'peers'),
      env: { ...process.env, ...torchEnv() },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const rep = newProgress();
  let summary: Record<string, number> | null = null;
  for await (const line of createInterface({ input: child.stdout })) {
    const m = JSON.parse(line) as Record<string, number>;
    if (m.done) {
      summary = m;
      continue;
    }
    track(rep, { epoch: m.epoch, accuracy: m.accuracy, seconds: seconds(t0) }, TARGET);
  }
  const code = await exited;
  if (code !== 0 || !summary) throw new Error(`torch peer exited ${code}`);
  return {
    ...rep,
    totalSeconds: seconds(t0),
    finalAccuracy: rep.curve.at(-1)?.accuracy ?? Number.NaN,
    stepSeconds: summary.step_seconds,
    stepCpuSeconds: summary.step_cpu_seconds,
    steps: summary.steps,
    overhead: null,
    loadAverage: loadavg()[0],
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-mnist-split-'));
  const server = await startServer();
  const runs: Record<Contender, Rep[]> = { maas: [], torch: [] };
  try {
    const meta = await exportMnistSplit(dataDir, { seed: SEED, validationFraction: VALIDATION_FRACTION });
    process.stderr.write(`exported the split: ${JSON.stringify(meta)}\n`);
    const client = new TrainingClient({ url: server.url, key: KEY });
    for (let i = 0; i < REPS; i++) {
      const order: Contender[] = i % 2 === 0 ? ['maas', 'torch'] : ['torch', 'maas'];
      for (const who of order) {
        const rep = who === 'maas' ? await viaService(client, `mnist-${i}`) : await viaTorch(dataDir);
        runs[who].push(rep);
        process.stderr.write(
          `rep ${i + 1}/${REPS} ${who}: ${rep.secondsToTarget?.toFixed(1) ?? 'not reached'} s to ${TARGET} ` +
            `(epoch ${rep.epochToTarget}), curve ${rep.curve.map((c) => c.accuracy.toFixed(3)).join(' ')}\n`,
        );
      }
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const setup = { epochs: EPOCHS, target: TARGET, reps: REPS, checkpointEvery: CHECKPOINT_EVERY, seed: SEED };
  await writeResults('train-service', report(runs, setup, environment()), {
    environment: environment(),
    ...setup,
    runs,
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
