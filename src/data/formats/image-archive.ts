import { stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { MaasError } from '../../common/errors';
import { type DataLimits, dataLimits, InflateBudget, overBudget } from '../limits';
import { atEntry, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Row } from '../table';
import { type ArchiveEntry, tarEntries, zipEntries } from './archive';
import { type IdxArray, idxRows, looksLikeIdx, parseIdx } from './idx';
import { decodeImage, sniffImage } from './image';
import { isGzip } from './source';

export type ArchiveKind = 'zip' | 'tar';

export interface ImageArchiveOptions {
  limits?: Partial<DataLimits>;
  maxRows?: number;
}

/** Hidden files and macOS resource forks that zip tools add; never data. */
function isJunk(name: string): boolean {
  return name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}

/**
 * An image classification archive: one folder per label, e.g. `cat/001.png`, `dog/7.jpg` (or the
 * same under one top folder, `pets/cat/001.png`). The label is the image's parent folder. Files at
 * the top level that are not images (a README) are skipped; anything else that is not a PNG/JPEG
 * is refused by name. Rows: `{ image, label }`.
 */
export async function* readImageArchive(
  path: string,
  kind: ArchiveKind,
  options: ImageArchiveOptions = {},
): AsyncGenerator<Row> {
  const limits = dataLimits(options.limits);
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const entries: AsyncGenerator<ArchiveEntry> =
    kind === 'zip' ? zipEntries(path, limits) : tarEntries(path, limits);
  // Every entry's bytes as held in memory (gzipped IDX inflated) count against the upload's cap
  // and the ratio to the archive's size: 24 gzipped IDX entries cannot grow 18 MB into 1.4 GB.
  const held = new InflateBudget(limits, (await stat(path)).size);
  let count = 0;
  const idx = new Map<string, IdxArray>();
  for await (const { name, data } of entries) {
    if (isJunk(name)) continue;
    const where = atEntry(name);
    const bytes = isGzip(data) ? gunzipEntry(data, where, limits) : data;
    held.add(bytes.length, where);
    if (looksLikeIdx(bytes)) {
      idx.set(name, parseIdxAt(bytes, where));
      continue;
    }
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    const isImage = sniffImage(data) !== null;
    if (parts.length < 2) {
      if (isImage) badData(where, 'images must sit in a folder named after their label');
      continue;
    }
    if (!isImage) badData(where, 'not a PNG or JPEG image');
    checkRowCap(++count, maxRows, where);
    const image = decodeImage(data, where, limits.maxImagePixels);
    yield { where, values: { image, label: parts[parts.length - 2] } };
  }
  for (const row of pairIdx(idx)) {
    checkRowCap(++count, maxRows, row.where);
    yield row;
  }
  if (count === 0) badData('file', 'archive holds no images in label folders and no IDX images + labels');
}

/** A gzipped entry inflated in memory, under the same ratio and size limits as the archive. */
function gunzipEntry(data: Buffer, where: string, limits: DataLimits): Buffer {
  const byRatio = Math.max(limits.ratioGraceBytes, limits.maxInflateRatio * data.length);
  const cap = Math.min(limits.maxArchiveEntryBytes, byRatio);
  try {
    return gunzipSync(data, { maxOutputLength: cap });
  } catch (err) {
    const tooBig = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    if (!tooBig) badData(where, 'corrupt gzip data');
    overBudget(
      where,
      `inflates past ${cap} bytes`,
      cap === byRatio ? 'maxInflateRatio' : 'maxArchiveEntryBytes',
    );
  }
}

function parseIdxAt(bytes: Buffer, where: string): IdxArray {
  try {
    return parseIdx(bytes);
  } catch (err) {
    if (err instanceof MaasError)
      badData(`${where}, ${err.extras.pointer}`, err.message.replace(/^[^:]*: /, ''));
    throw err;
  }
}

/**
 * IDX entries paired as images + labels, e.g. MNIST's `train-images-idx3-ubyte.gz` with
 * `train-labels-idx1-ubyte.gz`: names match once "images"/"labels" and the idx rank are ignored.
 */
function* pairIdx(idx: Map<string, IdxArray>): Generator<Row> {
  const key = (name: string) =>
    name
      .replace(/images?|labels?/i, '*')
      .replace(/idx\d/i, 'idx')
      .replace(/\.gz$/i, '');
  const images = [...idx.entries()].filter(([, a]) => a.dims.length >= 3);
  const labels = [...idx.entries()].filter(([, a]) => a.dims.length === 1);
  for (const [name, array] of images) {
    const match =
      labels.find(([l]) => key(l) === key(name)) ??
      (images.length === 1 && labels.length === 1 ? labels[0] : undefined);
    if (!match)
      badData(atEntry(name), 'IDX images without a matching labels file (e.g. train-labels-idx1-ubyte)');
    for (const row of idxRows(array, match[1])) yield { ...row, where: `${atEntry(name)}, ${row.where}` };
  }
}
