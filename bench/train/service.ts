/**
 * Training through the service, end to end: `maas serve` in a child process, a `cnn` job on the
 * built-in MNIST digits (10,000 28×28 images, 90/10 split, batch 32, Adam) started over HTTP and
 * followed over SSE. Reports the wall time from POST to the first epoch whose validation accuracy
 * reaches TARGET (default 0.98), the total time, and the service's overhead inside the trainer:
 * time spent writing checkpoints and emitting events, as a share of the time spent in steps.
 *
 *   node --import tsx bench/train/service.ts          (EPOCHS=4 TARGET=0.98 REPS=1 CHECKPOINT_EVERY=50)
 */
import { TrainingClient } from '../../src/sdk/training';
import { environment, KEY, median, startServer, writeResults } from '../serve/harness';

const EPOCHS = Number(process.env.EPOCHS ?? 4);
const TARGET = Number(process.env.TARGET ?? 0.98);
const REPS = Number(process.env.REPS ?? 1);
const CHECKPOINT_EVERY = Number(process.env.CHECKPOINT_EVERY ?? 50);

interface Rep {
  secondsToTarget: number | null;
  epochToTarget: number | null;
  totalSeconds: number;
  finalAccuracy: number;
  stepSeconds: number;
  checkpointSeconds: number;
  eventSeconds: number;
  validationSeconds: number;
  checkpoints: number;
  events: number;
  overheadShare: number;
}

async function once(client: TrainingClient, model: string): Promise<Rep> {
  const t0 = performance.now();
  const job = await client.createTraining({
    family: 'cnn',
    dataset: 'mnist',
    model,
    hyperparameters: { epochs: EPOCHS, checkpoint_every: CHECKPOINT_EVERY },
  });
  let secondsToTarget: number | null = null;
  let epochToTarget: number | null = null;
  for await (const e of client.events(job.id)) {
    const acc = (e.data.validation as { accuracy?: number } | undefined)?.accuracy;
    if (e.event === 'epoch' && secondsToTarget === null && acc !== undefined && acc >= TARGET) {
      secondsToTarget = (performance.now() - t0) / 1000;
      epochToTarget = Number(e.data.epoch);
    }
    if (e.event === 'epoch') process.stderr.write(`  epoch ${e.data.epoch}: accuracy ${acc}\n`);
  }
  const done = await client.getTraining(job.id);
  if (done.status !== 'succeeded' || !done.result) throw new Error(`job ${done.status}: ${done.error}`);
  const t = (done.result as unknown as { timing: Record<string, number> }).timing;
  return {
    secondsToTarget,
    epochToTarget,
    totalSeconds: (performance.now() - t0) / 1000,
    finalAccuracy: Number(done.result.metrics.accuracy),
    stepSeconds: t.stepSeconds,
    checkpointSeconds: t.checkpointSeconds,
    eventSeconds: t.eventSeconds,
    validationSeconds: t.validationSeconds,
    checkpoints: t.checkpoints,
    events: t.events,
    overheadShare: (t.checkpointSeconds + t.eventSeconds) / t.stepSeconds,
  };
}

async function main(): Promise<void> {
  const server = await startServer();
  const reps: Rep[] = [];
  try {
    const client = new TrainingClient({ url: server.url, key: KEY });
    for (let i = 0; i < REPS; i++) {
      process.stderr.write(`rep ${i + 1}/${REPS}\n`);
      reps.push(await once(client, `mnist-${i}`));
    }
  } finally {
    await server.stop();
  }
  const med = (f: (r: Rep) => number | null) => median(reps.map((r) => f(r) ?? Number.NaN));
  const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'not reached');
  const markdown = [
    '# Training through the service: MNIST cnn',
    '',
    `cnn family defaults (conv5×16 → pool → conv5×32 → pool → dense 10), batch 32, Adam 2e-3 with cosine decay, ${EPOCHS} epochs, checkpoint every ${CHECKPOINT_EVERY} steps + each epoch end; ${REPS} run(s), medians.`,
    '',
    '| figure | value |',
    '|---|---|',
    `| wall time to ${TARGET * 100}% validation accuracy (POST → epoch event) | ${fmt(med((r) => r.secondsToTarget))} (epoch ${fmt(
      med((r) => r.epochToTarget),
      0,
    )}) |`,
    `| total wall time (POST → succeeded, registration included) | ${fmt(med((r) => r.totalSeconds))} s |`,
    `| final validation accuracy | ${fmt(med((r) => r.finalAccuracy) * 100, 2)}% |`,
    `| time in train steps | ${fmt(
      med((r) => r.stepSeconds),
      2,
    )} s |`,
    `| time writing checkpoints (${fmt(
      med((r) => r.checkpoints),
      0,
    )}) | ${fmt(
      med((r) => r.checkpointSeconds),
      3,
    )} s |`,
    `| time emitting events (${fmt(
      med((r) => r.events),
      0,
    )}) | ${fmt(
      med((r) => r.eventSeconds),
      3,
    )} s |`,
    `| service overhead (checkpoints + events) / step time | ${fmt(med((r) => r.overheadShare) * 100, 2)}% |`,
    `| validation passes | ${fmt(
      med((r) => r.validationSeconds),
      2,
    )} s |`,
    '',
    `Environment: ${JSON.stringify(environment())}`,
    '',
  ].join('\n');
  await writeResults('train-service', markdown, {
    environment: environment(),
    epochs: EPOCHS,
    target: TARGET,
    reps,
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
