/**
 * The worst event-loop stall a JSON body can cost at each surface's size limit (json-limits.ts):
 * JSON.parse's time for bodies that pass the byte scanner (depth ≤ 64, ≤ MAAS_MAX_JSON_CONTAINERS
 * arrays and objects) in the shapes that cost most per byte, plus the scanner's own pass. JSON.parse
 * runs on the event loop, so this is how long one request can hold every other request.
 *
 *   node --import tsx bench/serve/json-stall.ts                 # 64 KiB, 4 MiB, 32 MiB
 *   node --import tsx bench/serve/json-stall.ts 1024K,8M        # other sizes
 */
import { loadavg } from 'node:os';
import { JsonDepthScanner } from '../../src/api/json-body';
import { environment, writeResults } from './harness';

const KiB = 1024;
const MiB = 1024 * KiB;
const CONTAINERS = 100_000;

/** Bodies of about `n` bytes; each stays within the depth and container limits. */
const shapes: Record<string, (n: number) => string> = {
  'integers [0,0,…]': (n) => `[${'0,'.repeat(Math.floor(n / 2) - 1)}0]`,
  'floats [0.123456,…]': (n) => `[${'0.123456,'.repeat(Math.floor(n / 9) - 1)}0]`,
  'short strings ["a",…]': (n) => `[${'"a",'.repeat(Math.floor(n / 4) - 1)}"a"]`,
  'one string': (n) => JSON.stringify('x'.repeat(n - 2)),
  // The container cap's worth of empty objects, then integers: the worst mix the scanner lets by.
  '100,000 {} then integers': (n) => {
    const objects = '{},'.repeat(Math.min(CONTAINERS - 1, Math.floor(n / 3) - 1));
    const rest = Math.max(0, n - objects.length - 2);
    return `[${objects}${'0,'.repeat(Math.floor(rest / 2))}0]`;
  },
};

function median3(f: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[1];
}

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '64K,4M,32M')
    .split(',')
    .map((s) => Number.parseInt(s, 10) * (s.endsWith('M') ? MiB : KiB));
  const load = [loadavg()[0]];
  const rows: string[] = [];
  const results: Record<string, unknown>[] = [];
  for (const size of sizes) {
    for (const [name, make] of Object.entries(shapes)) {
      const bytes = Buffer.from(make(size));
      const scan = median3(() => {
        if (new JsonDepthScanner({ maxDepth: 64, maxContainers: CONTAINERS }).feed(bytes) >= 0)
          throw new Error(`${name}: the scanner refused it`);
      });
      const text = bytes.toString('utf8');
      const parse = median3(() => JSON.parse(text));
      rows.push(`| ${(size / KiB).toFixed(0)} KiB | ${name} | ${scan.toFixed(1)} | ${parse.toFixed(1)} |`);
      results.push({ bytes: bytes.length, shape: name, scanMs: scan, parseMs: parse });
    }
  }
  load.push(loadavg()[0]);
  const md = [
    '# Event-loop cost of one JSON body at each size limit (median of 3)',
    '',
    `Load average (1 min) before / after: ${load.map((l) => l.toFixed(2)).join(' / ')}`,
    '',
    '| body | shape | byte scan ms | JSON.parse ms |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  await writeResults('json-stall', md, { env: environment(), load, results });
}

await main();
