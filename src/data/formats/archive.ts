import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { atEntry, badData } from '../problems';
import { readHead } from './source';

/**
 * Archives are read in memory, entry by entry: nothing is ever written to disk, so no entry name
 * can place a file anywhere (SECURITY.md §9). Names are still checked, so a hostile archive is
 * refused with the entry that made it so rather than silently half-read.
 */
export interface ArchiveLimits {
  /** Most entries (files, folders, links) in one archive. Default 100,000. */
  maxEntries: number;
  /** Most uncompressed bytes over all entries. Default 2 GiB. */
  maxTotalBytes: number;
  /** Most uncompressed bytes in one entry. Default 64 MiB. */
  maxEntryBytes: number;
  /** Uncompressed ÷ compressed bytes above which an archive (or a zip entry) is a bomb. Default 100. */
  maxRatio: number;
  /**
   * Below this many uncompressed bytes the ratio is not judged (default 1 MiB): tar pads every
   * file to 512 bytes and ends with 1 KiB of zeros, so a tiny honest .tar.gz can exceed 100×.
   */
  ratioGraceBytes: number;
}

export const defaultArchiveLimits: Readonly<ArchiveLimits> = Object.freeze({
  maxEntries: 100_000,
  maxTotalBytes: 2 * 1024 ** 3,
  maxEntryBytes: 64 * 1024 ** 2,
  maxRatio: 100,
  ratioGraceBytes: 1024 ** 2,
});

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

function ratioExceeded(uncompressed: number, compressed: number, limits: ArchiveLimits): boolean {
  return uncompressed > limits.ratioGraceBytes && uncompressed > limits.maxRatio * Math.max(compressed, 1);
}

type ByteStream = AsyncIterable<unknown> & { destroy(): unknown };

/** Read a stream whole, refusing it past `cap` bytes. */
async function readCapped(stream: ByteStream, cap: number, where: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const item of stream) {
    const chunk = item as Buffer;
    total += chunk.length;
    if (total > cap) {
      stream.destroy();
      badData(where, `entry larger than ${cap} bytes`);
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
  limits: ArchiveLimits = defaultArchiveLimits,
): AsyncGenerator<ArchiveEntry> {
  const compressed = (await stat(path)).size;
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
    if (zip.entryCount > limits.maxEntries) {
      badData('file', `archive has ${zip.entryCount} entries, more than ${limits.maxEntries}`);
    }
    let total = 0;
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
      total += entry.uncompressedSize;
      if (entry.uncompressedSize > limits.maxEntryBytes)
        badData(where, `entry larger than ${limits.maxEntryBytes} bytes`);
      if (total > limits.maxTotalBytes) badData(where, `archive expands past ${limits.maxTotalBytes} bytes`);
      if (
        ratioExceeded(entry.uncompressedSize, entry.compressedSize, limits) ||
        ratioExceeded(total, compressed, limits)
      ) {
        badData(where, `compression ratio over ${limits.maxRatio} (a zip bomb?)`);
      }
      const stream = await zip.openReadStreamPromise(entry);
      yield { name, data: await readCapped(stream, limits.maxEntryBytes, where) };
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
async function feedTar(path: string, extract: tar.Extract, limits: ArchiveLimits) {
  const compressed = (await stat(path)).size;
  const head = await readHead(path, 2);
  const raw = createReadStream(path);
  let inflated = 0;
  let bomb = false;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    gunzip.on('data', (chunk: Buffer) => {
      inflated += chunk.length;
      if (ratioExceeded(inflated, compressed, limits) || inflated > limits.maxTotalBytes + 1024 ** 2) {
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
  limits: ArchiveLimits = defaultArchiveLimits,
): AsyncGenerator<ArchiveEntry> {
  const extract = tar.extract();
  const feed = await feedTar(path, extract, limits);
  const raw = feed.raw;
  let count = 0;
  let total = 0;
  let current = 'file';
  try {
    for await (const entry of extract) {
      const name = checkEntryName(entry.header.name);
      current = atEntry(name);
      const type = entry.header.type ?? 'file';
      if (++count > limits.maxEntries) badData(current, `archive has more than ${limits.maxEntries} entries`);
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (!tarFileTypes.has(type))
        badData(current, `${type} entries are not allowed (only files and folders)`);
      if (isFolderName(name)) badData(current, 'a file entry named like a folder');
      if ((entry.header.size ?? 0) > limits.maxEntryBytes)
        badData(current, `entry larger than ${limits.maxEntryBytes} bytes`);
      const data = await readCapped(entry, limits.maxEntryBytes, current);
      total += data.length;
      if (total > limits.maxTotalBytes)
        badData(current, `archive expands past ${limits.maxTotalBytes} bytes`);
      yield { name, data };
    }
  } catch (err) {
    if (feed.bomb()) badData(current, `compression ratio over ${limits.maxRatio} (a tar bomb?)`);
    if (err instanceof Error && err.name !== 'MaasError')
      badData(current, `corrupt tar archive (${err.message})`);
    throw err;
  } finally {
    raw.destroy();
    extract.destroy();
  }
  if (feed.bomb()) badData(current, `compression ratio over ${limits.maxRatio} (a tar bomb?)`);
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
  limits: ArchiveLimits = defaultArchiveLimits,
): AsyncGenerator<ArchiveEntry> {
  return format === 'zip' ? zipEntries(path, limits) : tarEntries(path, limits);
}
