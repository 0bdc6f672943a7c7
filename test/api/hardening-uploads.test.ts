import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeIdxU8, makeJpeg, makePng, makeTarGz, makeZip } from '../data/fixtures';
import {
  gzipBomb,
  type Listening,
  listening,
  postBytes,
  readyzBoundMs,
  slowestReadyz,
} from './hardening-helpers';

/** RSS growth allowed during one attack (bytes): the bombs inflate to GiBs; budgets stop them at ~MiBs. */
const RSS_BOUND = 300 * 1024 * 1024;

/** One attack: a 4xx naming a limit and its setting, within `ms`, /readyz fast meanwhile, RSS bounded. */
async function refusedBy(s: Listening, name: string, bytes: Uint8Array, limit: RegExp, ms = 15_000) {
  const rss = process.memoryUsage().rss;
  const attack = postBytes(`${s.url}/api/v1/datasets?name=${name}`, bytes);
  const readyz = await slowestReadyz(s.url, attack);
  const res = await attack;
  expect(res.status, JSON.stringify(res.body)).toBe(413);
  expect(res.body.detail).toMatch(limit);
  expect(res.body.detail).toMatch(/setting MAAS_[A-Z_]+\)$/);
  expect(res.ms).toBeLessThan(ms);
  expect(readyz).toBeLessThan(readyzBoundMs());
  expect(process.memoryUsage().rss - rss).toBeLessThan(RSS_BOUND);
  // Nothing kept, and the server still serves.
  const list = await fetch(`${s.url}/api/v1/datasets`, {
    headers: { authorization: 'Bearer test-admin-key-0123456789' },
  });
  expect(JSON.stringify(await list.json())).not.toContain(`"${name}"`);
  return res;
}

describe('hardening: dataset uploads cannot exhaust the server', () => {
  let s: Listening;
  beforeAll(async () => {
    s = await listening({ datasetParseMemoryMb: 128, maxLineBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await s.close();
  });

  const upload = (name: string, bytes: Uint8Array) =>
    postBytes(`${s.url}/api/v1/datasets?name=${name}`, bytes);
  const refused = (name: string, bytes: Uint8Array, limit: RegExp) => refusedBy(s, name, bytes, limit);

  it('a 2 MB gzipped CSV whose one field inflates to 2 GiB → fast 413 naming maxFieldBytes', async () => {
    const bomb = gzipBomb('text,label\nhello,', 2048);
    expect(bomb.length).toBeLessThan(3 * 1024 * 1024);
    const res = await refused('csvbomb', bomb, /longer than 1048576 characters \(limit maxFieldBytes/);
    expect(res.body.pointer).toBe('line 2, column 7');
  });

  it('gzipped JSONL and text whose one line inflates to 2 GiB → 413 naming maxLineBytes', async () => {
    await refused(
      'jsonlbomb',
      gzipBomb('{"text": "', 2048),
      /limit maxLineBytes, setting MAAS_MAX_LINE_BYTES/,
    );
    await refused('textbomb', gzipBomb('once upon a time ', 2048), /limit maxLineBytes/);
  });

  it('a gzip of honest-looking short rows past the ratio limit → 413 naming maxInflateRatio', async () => {
    const rows = Buffer.from('1,2\n'.repeat(2 * 1024 * 1024)); // 8 MiB → ≈ 8 KiB
    const bomb = Buffer.concat([gzipSync('a,b\n'), gzipSync(rows, { level: 9 })]);
    await refused('ratiobomb', bomb, /inflates more than 100× .*limit maxInflateRatio/);
  });

  it('the same CSV, gzipped honestly, is accepted', async () => {
    const csv = `x,label\n${Array.from({ length: 200 }, (_, i) => `${i % 7},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
    const res = await upload('honest', gzipSync(csv));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ format: 'csv', rows: 200 });
  });
});

describe('hardening: archives and images inflate within the upload cap', () => {
  let s: Listening;
  beforeAll(async () => {
    s = await listening({ datasetParseMemoryMb: 128, maxDatasetBytes: 2 * 1024 * 1024 });
  });
  afterAll(async () => {
    await s.close();
  });
  const refused = (name: string, bytes: Uint8Array, limit: RegExp) => refusedBy(s, name, bytes, limit);
  /** 512 KiB of IDX images whose values compress ≈ 4× (two random bits each): under the ratio limit. */
  const idxEntry = (seed: number) => {
    let x = seed;
    const values = Uint8Array.from({ length: 512 * 1024 }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 30;
    });
    return gzipSync(makeIdxU8([512, 32, 32], values));
  };

  it('gzipped IDX entries in a tar that inflate past the ratio → 413 naming maxInflateRatio', async () => {
    const zeros = gzipSync(makeIdxU8([1024, 64, 64], new Uint8Array(4 * 1024 * 1024)), { level: 9 });
    const items = Array.from({ length: 24 }, (_, i) => ({
      name: `d/train-images-idx3-ubyte-${i}.gz`,
      data: zeros,
    }));
    const tarFile = gunzipSync(await makeTarGz(items)); // a plain tar of gzipped entries
    await refused('idxtar', tarFile, /limit maxInflateRatio, setting MAAS_MAX_INFLATE_RATIO/);
  });

  it('gzipped IDX entries in a zip that inflate past the upload cap → 413 naming MAAS_MAX_DATASET_BYTES', async () => {
    const items = Array.from({ length: 6 }, (_, i) => ({
      name: `d/part${i}-images-idx3-ubyte.gz`,
      data: idxEntry(i + 1),
      store: true,
    }));
    const zip = makeZip(items);
    expect(zip.length).toBeLessThan(2 * 1024 * 1024);
    await refused(
      'idxzip',
      zip,
      /inflates past 2097152 bytes \(limit maxInflatedBytes, setting MAAS_MAX_DATASET_BYTES\)/,
    );
  });

  it('a PNG and a JPEG declaring 100,000 × 100,000 pixels → 413 naming maxImagePixels, before decoding', async () => {
    const png = Buffer.from(makePng(2, 2, () => [200, 0, 0]));
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(100_000, 20);
    await refused('pngbomb', makeZip([{ name: 'red/huge.png', data: png }]), /limit maxImagePixels/);
    const jpg = Buffer.from(makeJpeg(8, 8, [0, 0, 200]));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(60_000, sof + 5);
    jpg.writeUInt16BE(60_000, sof + 7);
    const res = await refused(
      'jpegbomb',
      await makeTarGz([{ name: 'blue/huge.jpg', data: jpg }]),
      /limit maxImagePixels/,
    );
    expect(res.body.pointer).toBe('entry "blue/huge.jpg"');
  });
});
