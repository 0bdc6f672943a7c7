import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDataset, loadForTraining } from '../../src/data';
import {
  budgetError,
  datasetError,
  makeIdxU8,
  makeJpeg,
  makePng,
  makeTarGz,
  makeZip,
  tempDir,
  writeFixture,
} from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const red = () => makePng(4, 4, () => [255, 0, 0]);
const blue = () => makePng(4, 4, () => [0, 0, 255]);

describe('image archives', () => {
  it('reads a zip with one folder per label (PNG), skipping junk and a top-level README', async () => {
    const zip = makeZip([
      { name: 'shapes/red/1.png', data: red() },
      { name: 'shapes/red/2.png', data: red(), store: true },
      { name: 'shapes/blue/1.png', data: blue() },
      { name: 'shapes/', data: new Uint8Array(0), mode: 0o040755 },
      { name: 'README.txt', data: Buffer.from('two colours') },
      { name: '__MACOSX/shapes/red/._1.png', data: Buffer.from('junk') },
    ]);
    const path = await writeFixture(dir, 'shapes.upload', zip);
    const d = await describeDataset(path);
    expect(d.format).toBe('zip');
    expect(d.rows).toBe(3);
    expect(d.classBalance).toEqual({ red: 2, blue: 1 });
    expect(d.preview[0].image).toEqual({ image: '4x4x4' });
    const data = await loadForTraining(path, {
      task: 'image',
      image: { channels: 3 },
      validationFraction: 0,
    });
    expect(data.inputs.dims).toEqual([3, 3, 4, 4]);
    // classes sorted: blue = 0, red = 1; the first row is red: R plane 1, B plane 0.
    expect(data.spec.kind === 'image' && data.spec.target?.classes).toEqual(['blue', 'red']);
    expect(Array.from(data.targets.data as BigInt64Array)).toEqual([1n, 1n, 0n]);
    expect(data.inputs.data[0]).toBeCloseTo(1);
    expect(data.inputs.data[2 * 16]).toBeCloseTo(0);
  });

  it('reads a tar.gz with JPEG and PNG images', async () => {
    const tgz = await makeTarGz([
      { name: 'cats', type: 'directory' },
      { name: 'cats/a.jpg', data: makeJpeg(8, 8, [200, 200, 200]) },
      { name: 'dogs/b.png', data: makePng(8, 6, () => [10, 10, 10]) },
    ]);
    const path = await writeFixture(dir, 'pets.tgz', tgz);
    const d = await describeDataset(path);
    expect(d.format).toBe('tar');
    expect(d.classBalance).toEqual({ cats: 1, dogs: 1 });
    const data = await loadForTraining(path, {
      task: 'image',
      image: { width: 4, height: 4 },
      validationFraction: 0,
    });
    expect(data.inputs.dims).toEqual([2, 3, 4, 4]);
    expect(data.inputs.data[0]).toBeGreaterThan(0.7); // JPEG grey ≈ 200/255
  });

  it('reads MNIST-style IDX files (gzipped) paired as images + labels inside a zip', async () => {
    const imgs = (n: number, v: number) => makeIdxU8([n, 2, 2], new Array(n * 4).fill(v));
    const zip = makeZip([
      { name: 'mnist/train-images-idx3-ubyte.gz', data: gzipSync(imgs(3, 255)), store: true },
      { name: 'mnist/train-labels-idx1-ubyte.gz', data: gzipSync(makeIdxU8([3], [1, 2, 1])), store: true },
      { name: 'mnist/t10k-images-idx3-ubyte', data: imgs(2, 0) },
      { name: 'mnist/t10k-labels-idx1-ubyte', data: makeIdxU8([2], [0, 0]) },
    ]);
    const path = await writeFixture(dir, 'mnist.zip', zip);
    const d = await describeDataset(path);
    expect(d.rows).toBe(5);
    expect(d.classBalance).toEqual({ '0': 2, '1': 2, '2': 1 });
    const data = await loadForTraining(path, { task: 'image', validationFraction: 0 });
    expect(data.inputs.dims).toEqual([5, 1, 2, 2]);
    const unpaired = await writeFixture(
      dir,
      'unpaired.zip',
      makeZip([
        { name: 'a-images-idx3', data: imgs(1, 1) },
        { name: 'b-labels-idx1', data: makeIdxU8([1], [1]) },
        { name: 'c-images-idx3', data: imgs(1, 1) },
      ]),
    );
    expect((await datasetError(() => describeDataset(unpaired))).message).toContain(
      'without a matching labels file',
    );
  });

  it('names the entry that is not an image, or an image outside a label folder', async () => {
    const notImage = await writeFixture(
      dir,
      'n.zip',
      makeZip([
        { name: 'a/x.png', data: red() },
        { name: 'a/notes.txt', data: Buffer.from('hi') },
      ]),
    );
    const e = await datasetError(() => describeDataset(notImage));
    expect(e.pointer).toBe('entry "a/notes.txt"');
    expect(e.message).toContain('not a PNG or JPEG');
    const loose = await writeFixture(dir, 'l.zip', makeZip([{ name: 'x.png', data: red() }]));
    expect((await datasetError(() => describeDataset(loose))).message).toContain(
      'folder named after their label',
    );
    const broken = await writeFixture(
      dir,
      'b.zip',
      makeZip([{ name: 'a/x.png', data: red().subarray(0, 40) }]),
    );
    expect((await datasetError(() => describeDataset(broken))).pointer).toBe('entry "a/x.png"');
  });
});

describe('archives made from inside the folder (entries start with ./)', () => {
  let src: string;
  beforeAll(async () => {
    // A separate folder: the image tree that real tar and zip pack, and their archives.
    src = await mkdtemp(join(tmpdir(), 'maas-tar-'));
    for (const [label, png] of [
      ['red', red],
      ['blue', blue],
    ] as const) {
      await mkdir(join(src, 'tree', label), { recursive: true });
      for (let i = 0; i < 3; i++) await writeFile(join(src, 'tree', label, `${i}.png`), png());
    }
    await writeFile(join(src, 'tree', '.DS_Store'), 'junk');
  });
  afterAll(() => rm(src, { recursive: true, force: true }));

  it('reads `tar -C dir -czf x.tgz .` and `cd dir && tar czf x.tgz .` (real tar)', async () => {
    const tree = join(src, 'tree');
    const a = join(src, 'a.tgz');
    const b = join(src, 'b.tar');
    execFileSync('tar', ['-C', tree, '-czf', a, '.']);
    execFileSync('tar', ['cf', b, '.'], { cwd: tree });
    expect(execFileSync('tar', ['tzf', a]).toString()).toContain('./red/0.png');
    for (const path of [a, b]) {
      const d = await describeDataset(path);
      expect(d.rows, path).toBe(6);
      expect(d.classBalance, path).toEqual({ red: 3, blue: 3 });
    }
  });

  it('reads a zip whose entry names start with ./ (zip tools other than Info-ZIP write them)', async () => {
    const zip = makeZip([
      { name: './', data: new Uint8Array(0), mode: 0o040755 },
      { name: './red/', data: new Uint8Array(0), mode: 0o040755 },
      { name: './red/1.png', data: red() },
      { name: './blue/./1.png', data: blue() },
      { name: './/blue//2.png', data: blue() },
      { name: './.hidden/red/1.png', data: red() },
    ]);
    const d = await describeDataset(await writeFixture(dir, 'dotslash.zip', zip));
    expect(d.classBalance).toEqual({ red: 1, blue: 2 });
  });

  it('still refuses ./../ and ./ followed by an escape', async () => {
    for (const name of ['./../evil.png', './red/../../evil.png', '././../evil.png']) {
      const zip = makeZip([{ name, data: red() }]);
      const z = await datasetError(async () => describeDataset(await writeFixture(dir, 'dotslip.zip', zip)));
      expect(z.message, name).toContain("escapes the archive with '..'");
      const tgz = await makeTarGz([{ name, data: red() }]);
      const t = await datasetError(async () => describeDataset(await writeFixture(dir, 'dotslip.tgz', tgz)));
      expect(t.message, name).toContain("escapes the archive with '..'");
    }
  });
});

describe('archive safety (docs/security.md §9)', () => {
  const canary = () => join(dirname(dir), 'evil');

  it('refuses zip entries with ../, absolute paths, or links, naming the entry', async () => {
    const cases: [string, { name: string; mode?: number }, string][] = [
      ['slip.zip', { name: '../evil' }, "escapes the archive with '..'"],
      ['deep.zip', { name: 'red/../../evil' }, "escapes the archive with '..'"],
      ['backslash.zip', { name: 'red\\..\\..\\evil' }, "escapes the archive with '..'"],
      ['abs.zip', { name: '/tmp/evil' }, 'absolute path'],
      ['drive.zip', { name: 'C:/evil' }, 'absolute path'],
      ['link.zip', { name: 'red/link.png', mode: 0o120777 }, 'links and special files'],
    ];
    for (const [file, entry, why] of cases) {
      const zip = makeZip([
        { name: 'red/ok.png', data: red() },
        { ...entry, data: Buffer.from('/etc/passwd') },
      ]);
      const e = await datasetError(async () => describeDataset(await writeFixture(dir, file, zip)));
      expect(e.message, file).toContain(why);
      // yauzl turns `\` into `/` when decoding names, so the pointer shows the `/` form.
      expect(e.pointer, file).toBe(`entry ${JSON.stringify(entry.name.replace(/\\/g, '/'))}`);
    }
    expect(existsSync(canary())).toBe(false);
  });

  it('refuses tar symlinks, hard links, devices and traversal', async () => {
    const cases: [string, Parameters<typeof makeTarGz>[0][number], string][] = [
      [
        'sym.tgz',
        { name: 'red/x.png', type: 'symlink', linkname: '/etc/passwd' },
        'symlink entries are not allowed',
      ],
      [
        'hard.tgz',
        { name: 'red/y.png', type: 'link', linkname: 'red/ok.png' },
        'link entries are not allowed',
      ],
      ['dev.tgz', { name: 'red/dev', type: 'character-device' }, 'character-device entries'],
      ['slip.tgz', { name: '../evil', data: red() }, "escapes the archive with '..'"],
    ];
    for (const [file, entry, why] of cases) {
      const tgz = await makeTarGz([{ name: 'red/ok.png', data: red() }, entry]);
      const e = await datasetError(async () => describeDataset(await writeFixture(dir, file, tgz)));
      expect(e.message, file).toContain(why);
    }
    expect(existsSync(canary())).toBe(false);
  });

  it('refuses a tar.gz bomb (ratio > 100) before inflating it all, and a zip entry bomb', async () => {
    const zeros = new Uint8Array(8 * 1024 * 1024); // 8 MiB of zeros gzip to ≈ 8 KiB: ratio ≈ 1000
    const tgz = await makeTarGz([
      { name: 'red/ok.png', data: red() },
      { name: 'red/zeros.png', data: zeros },
    ]);
    const path = await writeFixture(dir, 'bomb.tgz', tgz);
    const e = await budgetError(() => describeDataset(path));
    expect(e.message).toContain('inflates more than 100×');
    const zip = makeZip([{ name: 'red/zeros.png', data: zeros }]);
    const z = await budgetError(async () => describeDataset(await writeFixture(dir, 'bomb.zip', zip)));
    expect(z.message).toContain('compression ratio over 100');
    expect(z.pointer).toBe('entry "red/zeros.png"');
  });

  it('refuses a gzip bomb stored inside a zip entry', async () => {
    const gz = gzipSync(new Uint8Array(8 * 1024 * 1024));
    const zip = makeZip([{ name: 'x/train-images-idx3-ubyte.gz', data: gz, store: true }]);
    const e = await budgetError(async () => describeDataset(await writeFixture(dir, 'gzbomb.zip', zip)));
    expect(e.pointer).toBe('entry "x/train-images-idx3-ubyte.gz"');
    expect(e.message).toContain('inflates past');
  });

  it('refuses too many entries and oversized entries, with configurable limits', async () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ name: `red/${i}.png`, data: red() }));
    const zip = await writeFixture(dir, 'many.zip', makeZip(items));
    const e = await budgetError(() => describeDataset(zip, { limits: { maxArchiveEntries: 4 } }));
    expect(e.message).toContain(
      'more than 4 entries (limit maxArchiveEntries, setting MAAS_MAX_ARCHIVE_ENTRIES)',
    );
    const tgz = await writeFixture(dir, 'many.tgz', await makeTarGz(items));
    expect(
      (await budgetError(() => describeDataset(tgz, { limits: { maxArchiveEntries: 4 } }))).message,
    ).toContain('more than 4 entries');
    expect((await describeDataset(tgz, { limits: { maxArchiveEntries: 5 } })).rows).toBe(5);
    const big = await budgetError(() => describeDataset(zip, { limits: { maxArchiveEntryBytes: 10 } }));
    expect(big.message).toContain('larger than 10 bytes');
    const pngBytes = red().length;
    for (const path of [zip, tgz]) {
      const total = await budgetError(() =>
        describeDataset(path, { limits: { maxInflatedBytes: 2 * pngBytes + 1 } }),
      );
      expect(total.message, path).toContain(`inflates past ${2 * pngBytes + 1} bytes`);
      expect(total.message, path).toContain('setting MAAS_MAX_DATASET_BYTES');
      expect(total.pointer, path).toBe('entry "red/2.png"');
    }
  });

  it('writes nothing: the temp folder holds only the fixtures', async () => {
    const names = await readdir(dir);
    expect(names.every((n) => /\.(zip|tgz|upload)$/.test(n))).toBe(true);
  });
});
