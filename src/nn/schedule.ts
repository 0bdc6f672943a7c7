/** Learning-rate schedules, computed in JS and fed to the train step as its `lr` input. */
export type Schedule = (step: number) => number;

export const constantLr =
  (lr: number): Schedule =>
  () =>
    lr;

/** Linear warm-up from 0 over `warmup` steps, then `after` (default: constant base). */
export function warmup(base: number, steps: number, after: Schedule = constantLr(base)): Schedule {
  return (step) => (step < steps ? (base * (step + 1)) / steps : after(step));
}

/** Cosine decay from `base` to `min` over `total` steps, after an optional linear warm-up. */
export function cosine(options: { base: number; total: number; min?: number; warmup?: number }): Schedule {
  const min = options.min ?? 0;
  const w = options.warmup ?? 0;
  const decay: Schedule = (step) => {
    const p = Math.min(1, Math.max(0, (step - w) / Math.max(1, options.total - w)));
    return min + 0.5 * (options.base - min) * (1 + Math.cos(Math.PI * p));
  };
  return w > 0 ? warmup(options.base, w, decay) : decay;
}

/** Multiply by `gamma` every `every` steps. */
export function stepDecay(options: { base: number; every: number; gamma?: number }): Schedule {
  const gamma = options.gamma ?? 0.1;
  return (step) => options.base * gamma ** Math.floor(step / options.every);
}
