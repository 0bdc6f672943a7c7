/**
 * How long one 4-megapixel PNG encode holds the event loop: pngjs's one-pass encoder (what served
 * image routes used) vs maas's streaming encoder (row batches between loop turns, zlib on libuv's
 * pool). A 5 ms interval timer records the worst gap between its ticks; 5 rounds, interleaved.
 *
 *   node --import tsx bench/serve/event-loop.ts
 */
import { loadavg } from 'node:os';
import { createImage, encodePng, encodePngAsync, type Image } from '../../src/models/common/image';

async function worstGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await work();
  clearInterval(ticker);
  return Math.max(worst, performance.now() - last);
}

const image: Image = createImage(2048, 2048, 3);
for (let i = 0; i < image.data.length; i++) image.data[i] = ((i * 7919) % 1013) / 1000;

const contenders: Record<string, () => Promise<unknown>> = {
  'pngjs, one pass': async () => encodePng(image),
  'maas, streaming': () => encodePngAsync(image),
};
const gaps: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
for (let round = 0; round < 5; round++) {
  for (const [name, work] of Object.entries(contenders)) gaps[name].push(await worstGap(work));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| encoder (2048 × 2048 RGB) | worst event-loop gap, median of 5 | min | max |');
console.log('|---|---|---|---|');
for (const [name, xs] of Object.entries(gaps)) {
  const f = (v: number) => `${v.toFixed(0)} ms`;
  console.log(`| ${name} | ${f(median(xs))} | ${f(Math.min(...xs))} | ${f(Math.max(...xs))} |`);
}
