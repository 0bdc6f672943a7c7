import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { type DataLimits, defaultDataLimits, InflateBudget, overBudget } from '../limits';
import { atEntry, badData } from '../problems';
import { readHead } from './source';

/**
 * Archives are read in memory, entry by entry: nothing is ever written to disk, so no entry name
 * can place a file anywhere. Names are still checked, so a hostile archive is refused with the
 * entry that made it so rather than silently half-read. Budgets (src/data/limits.ts): entries
 * (`maxArchiveEntries`), inflated bytes per entry (`maxArchiveEntryBytes`) and in all
 * (`maxInflatedBytes`, the upload's own cap), and the compression ratio (`maxInflateRatio`),
 * all checked while inflating.
 */
export interface ArchiveEntry {
  /** The entry's path inside the archive, `/`-separated, checked to stay inside. */
  name: string;
  data: Buffer;
}

/**
 * Refuse names that could point outside a folder if they were ever extracted, then normalise the
 * rest: `.` and empty segments go, so `./cat/1.png` (what `tar -czf x.tgz .` writes) and
 * `cat//1.png` both read as `cat/1.png`. A folder keeps its trailing `/`; the archive's own root
 * (`./`) becomes the empty name, which callers skip as a folder.
 */
export function checkEntryName(name: string): string {
  const where = atEntry(name);
  if (name.includes('\0')) badData(where, 'name contains a NUL byte');
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[a-zA-Z]:/.test(unified)) badData(where, 'absolute path');
  const parts = unified.split('/');
  if (parts.includes('..')) badData(where, "path escapes the archive with '..'");
  const kept = parts.filter((p) => p !== '' && p !== '.');
  const folder = unified.endsWith('/') || parts.at(-1) === '.';
  return kept.length === 0 ? '' : `${kept.join('/')}${folder ? '/' : ''}`;
}

/** A folder entry, or the archive root (`./`), which holds no data of its own. */
const isFolderName = (name: string): boolean => name === '' || name.endsWith('/');

function ratioExceeded(uncompressed: number, compressed: number, limits: DataLimits): boolean {
  return (
    uncompressed > limits.ratioGraceBytes && uncompressed > limits.maxInflateRatio * Math.max(compressed, 1)
  );
}

function entryTooLarge(where: string, limits: DataLimits): never {
  overBudget(where, `entry larger than ${limits.maxArchiveEntryBytes} bytes`, 'maxArchiveEntryBytes');
}

function tooManyEntries(where: string, limits: DataLimits): never {
  overBudget(where, `archive has more than ${limits.maxArchiveEntries} entries`, 'maxArchiveEntries');
}

type ByteStream = AsyncIterable<unknown> & { destroy(): unknown };

/** Read a stream whole, refusing it past the entry budget. */
async function readCapped(stream: ByteStream, limits: DataLimits, where: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const item of stream) {
    const chunk = item as Buffer;
    total += chunk.length;
    if (total > limits.maxArchiveEntryBytes) {
      stream.destroy();
      entryTooLarge(where, limits);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

// Unix file type bits in the high 16 bits of a zip entry's external attributes.
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Files of a zip archive (folders skipped); links, devices, traversal and bombs refused. */
export async function* zipEntries(
  path: string,
  limits: DataLimits = defaultDataLimits,
): AsyncGenerator<ArchiveEntry> {
  const compressed = (await stat(path)).size;
  const budget = new InflateBudget(limits, compressed);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (err) {
    badData('file', `not a readable zip archive (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    if (zip.entryCount > limits.maxArchiveEntries) tooManyEntries('file', limits);
    for await (const entry of zip.eachEntry()) {
      const raw = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      const name = checkEntryName(raw);
      const where = atEntry(name);
      const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (isFolderName(name) || type === S_IFDIR) continue;
      if (type !== 0 && type !== S_IFREG) badData(where, 'links and special files are not allowed');
      if (entry.isEncrypted()) badData(where, 'encrypted entries are not supported');
      if (entry.uncompressedSize > limits.maxArchiveEntryBytes) entryTooLarge(where, limits);
      if (ratioExceeded(entry.uncompressedSize, entry.compressedSize, limits))
        overBudget(
          where,
          `compression ratio over ${limits.maxInflateRatio} (a zip bomb?)`,
          'maxInflateRatio',
        );
      // Declared sizes first (yauzl also enforces them while inflating: validateEntrySizes).
      budget.add(entry.uncompressedSize, where);
      const stream = await zip.openReadStreamPromise(entry);
      yield { name, data: await readCapped(stream, limits, where) };
    }
  } catch (err) {
    if (err instanceof Error && err.name !== 'MaasError')
      badData('file', `corrupt zip archive (${err.message})`);
    throw err;
  } finally {
    zip.close();
  }
}

const tarFileTypes = new Set(['file', 'contiguous-file']);

/**
 * Pipe the file into the tar extractor, through gunzip when it is gzip; the inflated byte count is
 * checked against the ratio and size limits as it grows, and the extractor is stopped at once.
 */
async function feedTar(path: string, extract: tar.Extract, limits: DataLimits) {
  const compressed = (await stat(path)).size;
  const head = await readHead(path, 2);
  const raw = createReadStream(path);
  let inflated = 0;
  let bomb = false;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    gunzip.on('data', (chunk: Buffer) => {
      inflated += chunk.length;
      if (ratioExceeded(inflated, compressed, limits) || inflated > limits.maxInflatedBytes + 1024 ** 2) {
        bomb = true;
        gunzip.destroy();
        extract.destroy(new Error('bomb'));
      }
    });
    raw.on('error', (err) => gunzip.destroy(err));
    gunzip.on('error', (err) => extract.destroy(err));
    raw.pipe(gunzip).pipe(extract);
  } else {
    raw.on('error', (err) => extract.destroy(err));
    raw.pipe(extract);
  }
  return { raw, bomb: () => bomb };
}

/** Files of a .tar.gz (or plain .tar) archive, streamed; the ratio is checked while inflating. */
export async function* tarEntries(
  path: string,
  limits: DataLimits = defaultDataLimits,
): AsyncGenerator<ArchiveEntry> {
  const extract = tar.extract();
  const budget = new InflateBudget({ ...limits, maxInflateRatio: Number.POSITIVE_INFINITY }, 1);
  const feed = await feedTar(path, extract, limits);
  const raw = feed.raw;
  let count = 0;
  let current = 'file';
  try {
    for await (const entry of extract) {
      const name = checkEntryName(entry.header.name);
      current = atEntry(name);
      const type = entry.header.type ?? 'file';
      if (++count > limits.maxArchiveEntries) tooManyEntries(current, limits);
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (!tarFileTypes.has(type))
        badData(current, `${type} entries are not allowed (only files and folders)`);
      if (isFolderName(name)) badData(current, 'a file entry named like a folder');
      if ((entry.header.size ?? 0) > limits.maxArchiveEntryBytes) entryTooLarge(current, limits);
      const data = await readCapped(entry, limits, current);
      budget.add(data.length, current);
      yield { name, data };
    }
  } catch (err) {
    if (feed.bomb()) tarBomb(current, limits);
    if (err instanceof Error && err.name !== 'MaasError')
      badData(current, `corrupt tar archive (${err.message})`);
    throw err;
  } finally {
    raw.destroy();
    extract.destroy();
  }
  if (feed.bomb()) tarBomb(current, limits);
}

function tarBomb(where: string, limits: DataLimits): never {
  overBudget(
    where,
    `inflates more than ${limits.maxInflateRatio}× (or past ${limits.maxInflatedBytes} bytes): a tar bomb?`,
    'maxInflateRatio',
  );
}

export type ArchiveFormat = 'tar.gz' | 'tar' | 'zip';

/**
 * The archive format of a file by its first 512 bytes (its magic numbers, never its name or the
 * Content-Type it came with): gzip `1f 8b`, zip `PK\3\4` (or `PK\5\6`, an empty zip), tar `ustar`
 * at offset 257. Anything else → null (an ONNX file starts with field 1, byte `08`).
 */
export function archiveFormat(head: Uint8Array): ArchiveFormat | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'zip';
  const magic = Buffer.from(head.subarray(257, 262)).toString('latin1');
  return magic === 'ustar' ? 'tar' : null;
}

/** Files of an archive of `format` (see `archiveFormat`), with every check of zipEntries/tarEntries. */
export function archiveEntries(
  path: string,
  format: ArchiveFormat,
  limits: DataLimits = defaultDataLimits,
): AsyncGenerator<ArchiveEntry> {
  return format === 'zip' ? zipEntries(path, limits) : tarEntries(path, limits);
}
