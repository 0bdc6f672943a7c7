/**
 * Progress of one zoo row from the lines its trainer logs. Zoo rows report progress as text
 * (`gpt: step 300/900 loss 1.912 (1.95 steps/s, 154 s)`, `image-gen: epoch 3/30 loss 131.20
 * nats/image`); the step counter, when there is one, gives the ETA; otherwise the row's expected
 * time does.
 */

export interface ZooProgress {
  /** The latest line the trainer logged (null before the first). */
  line: string | null;
  step: number | null;
  steps: number | null;
  elapsedSeconds: number;
  /** Seconds left, when known. */
  etaSeconds: number | null;
}

const COUNTER = /\b(?:step|epoch)\s+(\d+)\s*\/\s*(\d+)/i;

/** `step 300/900` → [300, 900]; null when the line has no counter. */
export function parseCounter(line: string): [number, number] | null {
  const m = COUNTER.exec(line);
  if (!m) return null;
  const [step, steps] = [Number(m[1]), Number(m[2])];
  return steps > 0 && step <= steps ? [step, steps] : null;
}

export class ProgressTracker {
  private line: string | null = null;
  private counter: [number, number] | null = null;

  constructor(
    private readonly startedAt: number,
    /** The row's expected training time (s), if the manifest states one. */
    private readonly expectedSeconds: number | null,
  ) {}

  update(line: string): void {
    this.line = line;
    const c = parseCounter(line);
    if (c) this.counter = c;
  }

  view(now: number): ZooProgress {
    const elapsedSeconds = Math.max(0, (now - this.startedAt) / 1000);
    let etaSeconds: number | null = null;
    if (this.counter && this.counter[0] > 0) {
      const [step, steps] = this.counter;
      etaSeconds = (elapsedSeconds * (steps - step)) / step;
    } else if (this.expectedSeconds !== null) etaSeconds = Math.max(0, this.expectedSeconds - elapsedSeconds);
    return {
      line: this.line,
      step: this.counter?.[0] ?? null,
      steps: this.counter?.[1] ?? null,
      elapsedSeconds: round1(elapsedSeconds),
      etaSeconds: etaSeconds === null ? null : round1(etaSeconds),
    };
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** `75` → `1 min 15 s`, `8.2` → `8 s`. */
export function formatSeconds(s: number): string {
  const whole = Math.round(s);
  if (whole < 60) return `${whole} s`;
  const min = Math.floor(whole / 60);
  return whole % 60 === 0 ? `${min} min` : `${min} min ${whole % 60} s`;
}

/**
 * How fast this machine trains zoo rows compared with the idle 2-core machine their
 * `expectedSeconds` were measured on: (seconds taken) / (seconds expected), over the rows this
 * start has trained, and the row in training once its step counter has run a while. A loaded
 * machine (load 9 on 2 cores) reads ≈ 3; a fast idle one < 1. ETAs of rows not yet started are
 * their expected time times this factor.
 */
export class SpeedEstimate {
  private expected = 0;
  private taken = 0;

  /** A row finished in `seconds`; the manifest expected `expected` s. */
  record(expected: number | null, seconds: number): void {
    if (expected === null || expected <= 0 || !(seconds > 0)) return;
    this.expected += expected;
    this.taken += seconds;
  }

  /**
   * The factor, counting also a row in progress (`current`: its expected seconds and its own
   * projection, elapsed + ETA from its step counter) once it is a tenth done.
   */
  factor(current?: { expected: number | null; progress: ZooProgress }): number {
    let expected = this.expected;
    let taken = this.taken;
    const p = current?.progress;
    if (current?.expected && p?.step && p.steps && p.step / p.steps >= 0.1 && p.etaSeconds !== null) {
      expected += current.expected;
      taken += p.elapsedSeconds + p.etaSeconds;
    }
    // Bounded: one odd row (a cold disk cache, a burst of user work) must not swing every ETA.
    return expected > 0 ? Math.min(10, Math.max(0.1, taken / expected)) : 1;
  }
}
