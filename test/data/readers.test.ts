import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDataset, detectFormat } from '../../src/data';
import { parseDelimited } from '../../src/data/formats/csv';
import { jsonErrorOffset } from '../../src/data/formats/json-locate';
import { datasetError, makeIdxU8, tempDir, writeFixture } from './fixtures';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function records(text: string, delimiter = ',') {
  const out: string[][] = [];
  for await (const r of parseDelimited([text], delimiter)) out.push(r.fields);
  return out;
}

describe('CSV parsing (RFC 4180)', () => {
  it('handles quotes, doubled quotes, delimiters and newlines inside quotes, CRLF and blank lines', async () => {
    const text = 'a,b,c\r\n"x, y","he said ""hi""","two\nlines"\r\n\r\n1,,3\n';
    expect(await records(text)).toEqual([
      ['a', 'b', 'c'],
      ['x, y', 'he said "hi"', 'two\nlines'],
      ['1', '', '3'],
    ]);
    expect(await records('a\tb\n"1\t2"\t3', '\t')).toEqual([
      ['a', 'b'],
      ['1\t2', '3'],
    ]);
  });

  it('names the line and column of a short row, a stray quote and an unclosed quote', async () => {
    const good = 'id,name,score\n1,ann,3\n2,"bob ""b""",4\n';
    const short = await writeFixture(dir, 'short.csv', `${good}3,cy\n4,dee,5\n`);
    const e1 = await datasetError(() => describeDataset(short));
    expect(e1.pointer).toBe('line 4, column 5');
    expect(e1.message).toBe('line 4, column 5: expected 3 fields, got 2');

    const long = await writeFixture(dir, 'long.csv', `${good}3,cy,5,extra\n`);
    expect((await datasetError(() => describeDataset(long, { format: 'csv' }))).message).toBe(
      'line 4, column 8: expected 3 fields, got 4',
    );
    const stray = await writeFixture(dir, 'stray.csv', `${good}3,c"y,5\n`);
    expect((await datasetError(() => describeDataset(stray, { format: 'csv' }))).pointer).toBe(
      'line 4, column 4',
    );
    const after = await writeFixture(dir, 'after.csv', `${good}3,"cy"x,5\n`);
    expect((await datasetError(() => describeDataset(after, { format: 'csv' }))).pointer).toBe(
      'line 4, column 7',
    );
    const open = await writeFixture(dir, 'open.csv', `${good}3,"cy,5\n4,d,6\n`);
    expect((await datasetError(() => describeDataset(open, { format: 'csv' }))).pointer).toBe(
      'line 4, column 3',
    );
    // A multi-line quoted field: a short record is reported where it ends.
    const multi = await writeFixture(dir, 'multi.csv', 'a,b\n"x\ny"\n');
    expect((await datasetError(() => describeDataset(multi, { format: 'csv' }))).pointer).toBe(
      'line 3, column 3',
    );
  });

  it('refuses bytes that are not UTF-8, naming the line and column', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('name,city\nann,oslo\nbo,Tr'),
      Buffer.from([0xf8]),
      Buffer.from('ms\n'),
    ]);
    const csv = await writeFixture(dir, 'latin1.csv', latin1);
    const e = await datasetError(() => describeDataset(csv, { format: 'csv' }));
    expect(e.message).toBe('line 3, column 6: invalid UTF-8 (save the file as UTF-8)');
    const jsonl = await writeFixture(
      dir,
      'latin1.jsonl',
      Buffer.concat([Buffer.from('{"a": "'), Buffer.from([0xe9]), Buffer.from('"}\n')]),
    );
    expect((await datasetError(() => describeDataset(jsonl, { format: 'jsonl' }))).pointer).toBe(
      'line 1, column 8',
    );
  });

  it('refuses an empty or duplicate header name', async () => {
    const dup = await writeFixture(dir, 'dup.csv', 'a,b,a\n1,2,3\n');
    expect((await datasetError(() => describeDataset(dup, { format: 'csv' }))).message).toContain(
      'line 1, column 5: duplicate column name "a"',
    );
  });
});

describe('schema inference and summary', () => {
  it('infers numeric / categorical / text columns, missing values, class balance and a preview', async () => {
    const lines = ['age,city,comment,label'];
    for (let i = 0; i < 30; i++) {
      const age = i === 3 ? 'NA' : String(20 + i);
      const comment = `free text number ${i} with several words to be long enough for text`;
      lines.push(`${age},${['oslo', 'rome', 'lima'][i % 3]},"${comment}",${i % 3 === 0 ? 'yes' : 'no'}`);
    }
    const path = await writeFixture(dir, 'people.data', `\uFEFF${lines.join('\n')}\n`);
    const d = await describeDataset(path, { target: 'label', previewRows: 2 });
    expect(d.format).toBe('csv');
    expect(d.rows).toBe(30);
    const byName = Object.fromEntries(d.schema.map((c) => [c.name, c]));
    expect(byName.age.kind).toBe('numeric');
    expect(byName.age.missing).toBe(1);
    expect(byName.age.numeric?.min).toBe(20);
    expect(byName.age.numeric?.max).toBe(49);
    expect(byName.city.kind).toBe('categorical');
    expect(byName.city.distinct).toBe(3);
    expect(byName.comment.kind).toBe('text');
    expect(byName.label.target).toBe(true);
    expect(d.classBalance).toEqual({ no: 20, yes: 10 });
    expect(d.preview).toHaveLength(2);
    expect(d.preview[0].city).toBe('oslo');
  });

  it('reads TSV and gzipped CSV, and detects formats by content not by name', async () => {
    const tsv = await writeFixture(dir, 'data.csv', 'x\ty\n1\ta\n2\tb\n');
    expect((await describeDataset(tsv)).format).toBe('tsv');
    const gz = await writeFixture(dir, 'data.bin', gzipSync('x,y\n1,2\n3,4\n'));
    const d = await describeDataset(gz);
    expect(d.format).toBe('csv');
    expect(d.rows).toBe(2);
    const prose = await writeFixture(
      dir,
      'prose.csv',
      'Call me Ishmael, some years ago.\nNever mind how long, precisely, having little.\nOr no money.\n',
    );
    expect((await detectFormat(prose)).name).toBe('text');
    const jsonl = await writeFixture(dir, 'rows.csv', '{"a": 1}\n{"a": 2}\n');
    expect((await detectFormat(jsonl)).name).toBe('jsonl');
    const binary = await writeFixture(dir, 'random.txt', Buffer.from([7, 0, 1, 2, 3, 0, 9, 9]));
    expect((await datasetError(() => detectFormat(binary))).message).toContain('unrecognised format');
  });
});

describe('JSONL', () => {
  it('reads objects, keeps numbers, treats absent keys as missing', async () => {
    const path = await writeFixture(
      dir,
      'a.jsonl',
      '{"x": 1.5, "tag": "a"}\n\n{"x": 2, "tag": "b", "extra": true}\n',
    );
    const d = await describeDataset(path);
    expect(d.format).toBe('jsonl');
    expect(d.rows).toBe(2);
    const extra = d.schema.find((c) => c.name === 'extra')!;
    expect(extra.missing).toBe(1);
    expect(d.schema.find((c) => c.name === 'x')!.kind).toBe('numeric');
  });

  it('names the line and column of invalid JSON and of a non-object line', async () => {
    const bad = await writeFixture(dir, 'bad.jsonl', '{"x": 1}\n{"x": 2}\n{"x": 2, "y": }\n');
    const e = await datasetError(() => describeDataset(bad));
    expect(e.pointer).toBe('line 3, column 15');
    expect(e.message).toContain('invalid JSON near "}"');
    const arr = await writeFixture(dir, 'arr.jsonl', '{"x": 1}\n  [1, 2]\n');
    expect((await datasetError(() => describeDataset(arr, { format: 'jsonl' }))).pointer).toBe(
      'line 2, column 3',
    );
  });

  it('locates JSON errors like a parser would', () => {
    expect(jsonErrorOffset('{"a": [1, 2, {"b": null}]}')).toBe(-1);
    expect(jsonErrorOffset('{"a": 01}')).toBe(7);
    expect(jsonErrorOffset('{"a": "x\\q"}')).toBe(8);
    expect(jsonErrorOffset('{"a": 1')).toBe(7);
    expect(jsonErrorOffset('{"a": 1} x')).toBe(9);
  });
});

describe('plain text and IDX', () => {
  it('reads a corpus as non-blank lines', async () => {
    const path = await writeFixture(
      dir,
      'corpus.txt',
      'It was the best of times.\n\nIt was the worst of times.\n',
    );
    const d = await describeDataset(path);
    expect(d.format).toBe('text');
    expect(d.rows).toBe(2);
    expect(d.preview[1].text).toBe('It was the worst of times.');
  });

  it('reads hand-written IDX images (raw and gzipped) with a labels file', async () => {
    const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 10);
    const images = await writeFixture(dir, 'imgs.idx', gzipSync(makeIdxU8([3, 2, 2], pixels)));
    const labels = await writeFixture(dir, 'labels.idx', makeIdxU8([3], [7, 1, 7]));
    const d = await describeDataset(images, { labelsPath: labels });
    expect(d.format).toBe('idx');
    expect(d.rows).toBe(3);
    expect(d.schema.find((c) => c.name === 'image')?.image).toEqual({ width: 2, height: 2, channels: 1 });
    expect(d.classBalance).toEqual({ '7': 2, '1': 1 });
    const lonely = await describeDataset(labels);
    expect(lonely.rows).toBe(3);
  });

  it('refuses a truncated IDX file and mismatched labels, naming the byte', async () => {
    const cut = await writeFixture(
      dir,
      'cut.idx',
      makeIdxU8([3, 2, 2], new Array(12).fill(1)).subarray(0, 20),
    );
    const e = await datasetError(() => describeDataset(cut, { format: 'idx' }));
    expect(e.pointer).toBe('byte 20');
    expect(e.message).toContain('need 28 bytes, file has 20');
    const images = await writeFixture(dir, 'i2.idx', makeIdxU8([3, 2, 2], new Array(12).fill(1)));
    const labels = await writeFixture(dir, 'l2.idx', makeIdxU8([2], [1, 2]));
    expect((await datasetError(() => describeDataset(images, { labelsPath: labels }))).message).toContain(
      'labels must be [3]',
    );
  });
});
