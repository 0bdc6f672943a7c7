/**
 * How long a crashed trainer waits before its next attempt: exponential backoff with "equal
 * jitter". Retry n (1, 2, 3 …) waits a random 50–100 % of min(cap, base · 2^(n−1)) ms, so with
 * the defaults (base 1 s, cap 60 s) the waits are about 0.5–1 s, 1–2 s, 2–4 s … 30–60 s. The
 * exponential part gives a transient cause (memory pressure, a neighbour's burst) time to pass;
 * the jitter keeps jobs that crashed together (one OOM kill of several trainers) from all
 * restarting in the same instant and crashing together again. Half the wait is kept fixed so a
 * retry never comes right away when a backoff was asked for.
 */

export interface Backoff {
  /** Wait before the first retry (ms); 0 = retry at once. */
  baseMs: number;
  /** Longest wait (ms). */
  maxMs: number;
}

/** The wait before retry `attempt` (1-based), in whole ms; `random` returns [0, 1). */
export function retryDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  if (backoff.baseMs <= 0 || backoff.maxMs <= 0) return 0;
  // 2^(attempt−1) overflows to Infinity after ~1000 retries; min() caps it either way.
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
