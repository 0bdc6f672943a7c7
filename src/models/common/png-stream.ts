/**
 * PNG encoding for served image routes that never holds the event loop for long.
 *
 * pngjs converts, filters and packs a whole image in one synchronous pass (≈ 0.6 s for 4
 * megapixels on a loaded machine) before its compression even starts. Here rows are converted and
 * `Sub`-filtered in batches of about `BATCH_BYTES`, the loop is yielded between batches, and zlib
 * compresses on libuv's thread pool. The bytes are a standard 8-bit PNG (grey, RGB or RGBA).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { constants, crc32, createDeflate } from 'node:zlib';

/** What is encoded: row-major pixels, `channels` values each in [0, 1] (image.ts's Image). */
interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Raw bytes converted per batch: small enough for a few milliseconds of work between yields. */
const BATCH_BYTES = 256 * 1024;
const COLOR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;
const FILTER_SUB = 1;

/** A channel value in [0, 1] as a byte (clamped, rounded). */
export const pngByte = (v: number): number => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0);
  return Buffer.concat([head, data, crc]);
}

function header(img: Pixels): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(img.width, 0);
  ihdr.writeUInt32BE(img.height, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = COLOR_TYPE[img.channels as 1 | 3 | 4];
  // compression 0, filter method 0, no interlace: the zeros Buffer.alloc leaves.
  return chunk('IHDR', ihdr);
}

/** Rows [from, to) as PNG scanlines: a filter byte, then each byte minus the one a pixel before. */
function scanlines(img: Pixels, from: number, to: number): Buffer {
  const stride = img.width * img.channels;
  const out = Buffer.alloc((to - from) * (stride + 1));
  let o = 0;
  for (let y = from; y < to; y++) {
    out[o++] = FILTER_SUB;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const left = x >= img.channels ? pngByte(img.data[row + x - img.channels]) : 0;
      out[o++] = (pngByte(img.data[row + x]) - left) & 0xff;
    }
  }
  return out;
}

/** Compressed scanlines: rows fed in batches, yielding between them, zlib on the thread pool. */
async function compressedRows(img: Pixels): Promise<Buffer> {
  const deflate = createDeflate({ level: 6, strategy: constants.Z_RLE });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve).on('error', reject);
  });
  const rowsPerBatch = Math.max(1, Math.floor(BATCH_BYTES / (img.width * img.channels + 1)));
  for (let y = 0; y < img.height; y += rowsPerBatch) {
    const ok = deflate.write(scanlines(img, y, Math.min(img.height, y + rowsPerBatch)));
    if (!ok) await new Promise((resolve) => deflate.once('drain', resolve));
    await yieldToLoop();
  }
  deflate.end();
  await done;
  return Buffer.concat(parts);
}

/** A PNG of `img` (values in [0, 1], 1, 3 or 4 channels), encoded without stalling the loop. */
export async function encodePngStreaming(img: Pixels): Promise<Buffer> {
  const idat = await compressedRows(img);
  return Buffer.concat([SIGNATURE, header(img), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
