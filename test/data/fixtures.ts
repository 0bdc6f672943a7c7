/**
 * Builders for small real dataset files written into a temp folder: zip (written by hand, so a
 * test can make the hostile entries that zip tools refuse to make), tar.gz (tar-stream), PNG
 * (pngjs), JPEG (jpeg-js), IDX (by hand).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import tar from 'tar-stream';
import { expect } from 'vitest';
import { isMaasError } from '../../src/common/errors';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-data-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeFixture(dir: string, name: string, data: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

export interface ZipItem {
  name: string;
  data: Uint8Array;
  /** Unix mode incl. file type, e.g. 0o120777 for a symlink. Default 0o100644. */
  mode?: number;
  /** Store uncompressed. Default: deflate. */
  store?: boolean;
}

/** A minimal zip (local headers, central directory, end record), deflated or stored. */
export function makeZip(items: ZipItem[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const item of items) {
    const name = Buffer.from(item.name, 'utf8');
    const body = item.store ? Buffer.from(item.data) : deflateRawSync(item.data);
    const crc = crc32(item.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(item.store ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(item.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode bits count
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(item.store ? 0 : 8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(item.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((item.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(items.length, 8);
  end.writeUInt16LE(items.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface TarItem {
  name: string;
  data?: Uint8Array;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  linkname?: string;
}

export async function makeTarGz(items: TarItem[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const item of items) {
    const data = item.data ? Buffer.from(item.data) : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        { name: item.name, type: item.type ?? 'file', linkname: item.linkname, size: data.length },
        data,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** A w×h RGBA PNG whose pixels are `f(x, y)` → [r, g, b]. */
export function makePng(w: number, h: number, f: (x: number, y: number) => [number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = f(x, y);
      png.data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  return PNG.sync.write(png);
}

export function makeJpeg(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return jpeg.encode({ data, width: w, height: h }, 95).data;
}

/** IDX bytes: `00 00 08 <ndims>`, big-endian dims, uint8 values. */
export function makeIdxU8(dims: number[], values: ArrayLike<number>): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  for (let i = 0; i < dims.length; i++) head.writeUInt32BE(dims[i], 4 + 4 * i);
  return Buffer.concat([head, Buffer.from(Uint8Array.from(values))]);
}

/** Run `fn`, expect an `invalid_dataset` error, and return its message and pointer. */
export async function datasetError(
  fn: () => Promise<unknown>,
): Promise<{ message: string; pointer: string }> {
  try {
    await fn();
  } catch (err) {
    if (!isMaasError(err)) throw err;
    expect(err.code).toBe('invalid_dataset');
    return { message: err.message, pointer: err.extras.pointer ?? '' };
  }
  throw new Error('expected an invalid_dataset error, got success');
}

/** The 413 of a reader's budget (src/data/limits.ts): its message names the limit and its setting. */
export async function budgetError(fn: () => Promise<unknown>): Promise<{ message: string; pointer: string }> {
  try {
    await fn();
  } catch (err) {
    if (!isMaasError(err)) throw err;
    expect(err.code, err.message).toBe('payload_too_large');
    expect(err.message).toMatch(/\(limit \w+, setting MAAS_[A-Z_]+\)$/);
    return { message: err.message, pointer: err.extras.pointer ?? '' };
  }
  throw new Error('expected a payload_too_large error, got success');
}
