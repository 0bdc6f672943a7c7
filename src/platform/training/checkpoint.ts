/**
 * Training checkpoints: one file per job, replaced atomically (temp file → fsync → rename →
 * fsync of the folder), so a crash at any moment leaves the previous checkpoint or the new one,
 * never half of one.
 *
 * Layout: `MAASCKP1` (8 bytes) · header length (uint32 LE) · header JSON (UTF-8) · the arrays the
 * header lists, raw little-endian, one after another. Arrays are float32 or float64.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const MAGIC = 'MAASCKP1';

/** A job folder's checkpoint file (`<job dir>/checkpoint.bin`). */
export const CHECKPOINT_FILE = 'checkpoint.bin';

export interface CheckpointArrays {
  [name: string]: Float32Array | Float64Array;
}

/** Write `bytes` to `path` so that readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } catch (e) {
    await file.close();
    await rm(temp, { force: true });
    throw e;
  }
  await file.close();
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  await dir.sync().finally(() => dir.close());
}

export function encodeCheckpoint(header: Record<string, unknown>, arrays: CheckpointArrays): Uint8Array {
  const listed = Object.entries(arrays).map(([name, a]) => ({
    name,
    dtype: a instanceof Float64Array ? 'float64' : 'float32',
    length: a.length,
  }));
  const json = Buffer.from(JSON.stringify({ ...header, arrays: listed }), 'utf8');
  const body = Object.values(arrays).reduce((n, a) => n + a.byteLength, 0);
  const out = Buffer.alloc(8 + 4 + json.length + body);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  let at = 12 + json.length;
  for (const a of Object.values(arrays)) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, at);
    at += a.byteLength;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): {
  header: Record<string, unknown>;
  arrays: CheckpointArrays;
} {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a maas checkpoint');
  const len = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Record<string, unknown> & {
    arrays: { name: string; dtype: string; length: number }[];
  };
  const arrays: CheckpointArrays = {};
  let at = 12 + len;
  for (const a of header.arrays) {
    const size = a.dtype === 'float64' ? 8 : 4;
    // Copy out: the slice may not be aligned for a typed-array view.
    const slice = buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + a.length * size);
    arrays[a.name] = a.dtype === 'float64' ? new Float64Array(slice) : new Float32Array(slice);
    at += a.length * size;
  }
  if (at !== buf.length) throw new Error('checkpoint size does not match its header');
  return { header, arrays };
}

/** The checkpoint at `path`, or null when there is none yet. */
export async function readCheckpoint(
  path: string,
): Promise<{ header: Record<string, unknown>; arrays: CheckpointArrays } | null> {
  const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  return bytes ? decodeCheckpoint(bytes) : null;
}
