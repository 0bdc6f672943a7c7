/**
 * Hostile inputs for the walk-through in docs/limits.md, small on disk: a gzip whose one CSV field
 * inflates to 2 GiB (32 gzip members of 64 MiB of `x`, which gunzip reads as one stream) and
 * 10 MB of nested brackets.
 *
 *   node --import tsx examples/bombs.ts /tmp/bombs   → bomb.csv.gz (≈ 2 MB), deep.json (10 MB)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = process.argv[2] ?? 'bombs';
const MiB = 1024 * 1024;

const member = gzipSync(Buffer.alloc(64 * MiB, 'x'), { level: 9 });
const bomb = Buffer.concat([gzipSync('text,label\nhello,'), ...Array.from({ length: 32 }, () => member)]);
const deep = `${'['.repeat(5 * MiB)}${']'.repeat(5 * MiB)}`;
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'bomb.csv.gz'), bomb);
await writeFile(join(dir, 'deep.json'), deep);
console.log(
  `bomb.csv.gz: ${(bomb.length / MiB).toFixed(1)} MB, one CSV field of 2048 MiB once inflated; deep.json: ${deep.length / MiB} MB of nested brackets`,
);
