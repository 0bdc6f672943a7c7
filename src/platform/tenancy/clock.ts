/** Time source in epoch milliseconds. Injected so tests can step time; production uses `systemClock`. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told: for header values and window arithmetic in tests and tools. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/** The last month computed and its [start, end) in epoch ms: admission asks once per request. */
let lastMonth = { start: 0, end: 0, name: '' };

/** `YYYY-MM` of an epoch-ms time, in UTC: the quota period. */
export function monthOf(epochMs: number): string {
  if (epochMs >= lastMonth.start && epochMs < lastMonth.end) return lastMonth.name;
  const d = new Date(epochMs);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  lastMonth = { start, end, name: d.toISOString().slice(0, 7) };
  return lastMonth.name;
}
