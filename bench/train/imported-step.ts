/**
 * Fine-tuning step time of an imported model vs the same architecture built with `nn`: an MNIST
 * CNN (conv 5×5 ×8 → ReLU → pool → conv 5×5 ×16 → ReLU → pool → dense 10, PyTorch's shape in
 * test/training/fine-tune-imported.test.ts) built with `nn`, exported, then imported back as an
 * uploaded model is (`importedSpec`, every layer trained). Both train steps run the same data,
 * batch 32, Adam, one thread, in this process; PyTorch trains the same network (same shapes, Adam,
 * batch 32, one intra-op thread) in a child process (bench/peers/torch_mnist_cnn_step.py, with the
 * environment every PyTorch peer gets, bench/lib/spawn.ts). The three alternate in rounds so that
 * load changes hit all alike. Reports wall (and, in-process, CPU) ms per step, the median of
 * rounds, and the load average.
 *
 *   node --import tsx bench/train/imported-step.ts            (ROUNDS=5 STEPS=60)
 */
import { loadavg } from 'node:os';
import { compileTrainStep, type ModelSpec, type TrainStep } from '../../src/engine/index';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { importedSpec } from '../../src/models/families/index';
import * as nn from '../../src/nn/index';
import { isUnsupported } from '../lib/contender';
import { pythonSpec, runProcess } from '../lib/spawn';

const BATCH = 32;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const STEPS = Number(process.env.STEPS ?? 60);

function nnSpec(): ModelSpec {
  const rng = new nn.Rng(1);
  const net = nn.sequential(
    nn.conv2d(rng, 1, 8, 5),
    nn.relu(),
    nn.maxPool2d(2),
    nn.conv2d(rng, 8, 16, 5),
    nn.relu(),
    nn.maxPool2d(2),
    nn.flatten(),
    nn.linear(rng, 256, 10),
  );
  return {
    params: net.params,
    batch: { x: { dtype: 'float32', shape: [BATCH, 1, 28, 28] }, y: { dtype: 'int64', shape: [BATCH] } },
    forward: (b) => ({ logits: net(b.x) }),
    loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    metrics: (p, b) => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    inferenceOutputs: ['logits'],
  };
}

function batchOf(seed: number): Record<string, Tensor> {
  const rng = new nn.Rng(seed);
  const x = Float32Array.from({ length: BATCH * 784 }, () => rng.next());
  const y = Array.from({ length: BATCH }, () => BigInt(Math.floor(rng.next() * 10)));
  return { x: tensorFrom('float32', [BATCH, 1, 28, 28], x), y: tensorFrom('int64', [BATCH], y) };
}

async function time(t: TrainStep, batch: Record<string, Tensor>): Promise<{ wall: number; cpu: number }> {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < STEPS; i++) await t.step(batch, 1e-3);
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - w0) / STEPS, cpu: (c.user + c.system) / 1000 / STEPS };
}

/** One PyTorch run of STEPS steps (after its warm-up): wall and CPU ms per step. */
async function torchStep(): Promise<{ wall: number; cpu: number }> {
  const spec = pythonSpec('torch_mnist_cnn_step.py')({ threads: 1, min_steps: STEPS, min_seconds: 0.01 });
  const out = await runProcess(spec, 120_000);
  if (isUnsupported(out)) throw new Error(out.unsupported);
  return { wall: 1000 / out.steps_per_s, cpu: Number((out as { cpu_ms_per_step?: number }).cpu_ms_per_step) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const session = { intraOpThreads: 1, interOpThreads: 1 };
  const built = nnSpec();
  const native = await compileTrainStep({ model: built, optimizer: nn.adam(), session });
  const onnx = native.exportInference();
  const spec = importedSpec(
    onnx,
    {
      input: { name: 'x', batchDim: 'batch' },
      classes: 10,
      baseLabels: [...'0123456789'],
      labels: [...'0123456789'],
      batchSize: BATCH,
      itemDims: [1, 28, 28],
    },
    { layers: 0, parameters: [], replaceHead: 'never', init: 'base', seed: 1 },
  );
  const imported = await compileTrainStep({ model: spec, optimizer: nn.adam(), session });
  const batch = batchOf(2);
  await time(native, batch);
  await time(imported, batch);
  const rows: Record<'nn' | 'imported', { wall: number[]; cpu: number[] }> = {
    nn: { wall: [], cpu: [] },
    imported: { wall: [], cpu: [] },
  };
  const torch = { wall: [] as number[], cpu: [] as number[] };
  const load0 = loadavg()[0];
  for (let r = 0; r < ROUNDS; r++) {
    const t = await torchStep();
    torch.wall.push(t.wall);
    torch.cpu.push(t.cpu);
    for (const [name, t] of [
      ['nn', native],
      ['imported', imported],
    ] as const) {
      const m = await time(t, batch);
      rows[name].wall.push(m.wall);
      rows[name].cpu.push(m.cpu);
    }
  }
  const load1 = loadavg()[0];
  console.log(`parameters: nn ${native.paramCount}, imported ${imported.paramCount}`);
  for (const [name, m] of Object.entries(rows))
    console.log(
      `${name.padEnd(9)} ${median(m.wall).toFixed(2)} ms/step wall, ${median(m.cpu).toFixed(2)} CPU ms/step (median of ${ROUNDS} × ${STEPS} steps, batch ${BATCH})`,
    );
  console.log(
    `pytorch   ${median(torch.wall).toFixed(2)} ms/step wall, ${median(torch.cpu).toFixed(2)} CPU ms/step (median of ${ROUNDS} runs of ${STEPS} steps after 5 warm-up, 1 thread, torch 1.13)`,
  );
  console.log(
    `imported / nn: ${(median(rows.imported.cpu) / median(rows.nn.cpu)).toFixed(3)} (CPU); imported / pytorch: ${(median(rows.imported.cpu) / median(torch.cpu)).toFixed(3)} (CPU); load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
  );
  await native.release();
  await imported.release();
}

await main();
