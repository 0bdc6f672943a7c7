/**
 * Usage units of the generative tasks, computed where the work is done so the platform can debit
 * quotas and write usage records without knowing the task: text in tokens (prompt + completion),
 * images in images, audio in seconds. `quantity` is the one number a quota is debited by.
 *
 *   textUsage(12, 30)  → { unit: 'tokens', quantity: 42, promptTokens: 12, completionTokens: 30 }
 *   audioUsage(2.9137) → { unit: 'audio_seconds', quantity: 2.914 }
 */
import { fail } from '../../common/errors';

export interface TokenUsage {
  unit: 'tokens';
  quantity: number;
  promptTokens: number;
  completionTokens: number;
}

export interface ImageUsage {
  unit: 'images';
  quantity: number;
  /** Pixels over all images (count × width × height), for tariffs that charge large images more. */
  pixels: number;
}

export interface AudioUsage {
  unit: 'audio_seconds';
  quantity: number;
}

export type Usage = TokenUsage | ImageUsage | AudioUsage;

function count(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) fail('internal', `${name} must be a non-negative integer, got ${n}`);
  return n;
}

/** Completions and chat: prompt plus generated tokens. Embeddings: prompt only (completion 0). */
export function textUsage(promptTokens: number, completionTokens = 0): TokenUsage {
  count('promptTokens', promptTokens);
  count('completionTokens', completionTokens);
  return { unit: 'tokens', quantity: promptTokens + completionTokens, promptTokens, completionTokens };
}

export function imageUsage(images: number, width: number, height: number): ImageUsage {
  const pixels = count('images', images) * count('width', width) * count('height', height);
  return { unit: 'images', quantity: images, pixels };
}

/** Audio seconds, rounded up to the millisecond so that many short clips never bill as zero. */
export function audioUsage(seconds: number): AudioUsage {
  if (!Number.isFinite(seconds) || seconds < 0) fail('internal', `audio seconds must be ≥ 0, got ${seconds}`);
  // The 1e-9 keeps float noise (2.0000000001 s) from rounding a whole millisecond up.
  return { unit: 'audio_seconds', quantity: Math.ceil(seconds * 1000 - 1e-9) / 1000 };
}

/**
 * Add usages of one unit from separate requests (e.g. a day's records). The `n` choices of ONE
 * completion share their prompt: bill them as textUsage(prompt, sum of completions), not with this.
 */
export function sumUsage<U extends Usage>(usages: readonly U[]): U {
  if (usages.length === 0) fail('internal', 'no usage to sum');
  const unit = usages[0].unit;
  if (usages.some((u) => u.unit !== unit)) fail('internal', 'cannot add usage of different units');
  const total = { ...usages[0] } as Record<string, number | string>;
  for (const u of usages.slice(1)) {
    for (const [k, v] of Object.entries(u)) if (typeof v === 'number') total[k] = (total[k] as number) + v;
  }
  if (unit === 'audio_seconds') total.quantity = Math.round((total.quantity as number) * 1000) / 1000;
  return total as unknown as U;
}
