import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { overBudget } from '../limits';
import { badData } from '../problems';
import type { ImageCell } from '../table';

/** Default largest image decoded: 4096 × 4096 pixels (64 MiB as RGBA), checked from the header first. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

export type ImageKind = 'png' | 'jpeg';

/** Recognise an image by its magic bytes, not its name. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return 'png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Decode a PNG or JPEG held in memory to RGBA pixels (4 channels). `where` names the file or
 * archive entry in errors.
 */
export function decodeImage(bytes: Uint8Array, where: string, maxPixels = MAX_IMAGE_PIXELS): ImageCell {
  const kind = sniffImage(bytes);
  if (kind === null) badData(where, 'not a PNG or JPEG image');
  const declared = declaredPixels(bytes, kind);
  if (declared > maxPixels)
    overBudget(where, `image declares ${declared} pixels, more than ${maxPixels}`, 'maxImagePixels');
  try {
    return kind === 'png' ? decodePng(bytes) : decodeJpeg(bytes, maxPixels);
  } catch (err) {
    if (err instanceof Error && err.name === 'MaasError') throw err;
    badData(
      where,
      `cannot decode ${kind.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * Width × height as the header declares them, before any pixel is decoded: PNG's IHDR is always
 * first (big-endian uint32 at bytes 16 and 20); JPEG's frame header (SOF0–SOF15 but DHT, JPG, DAC)
 * follows a chain of length-prefixed segments. 0 when not found (the decoder then judges).
 */
export function declaredPixels(bytes: Uint8Array, kind: ImageKind): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'png') return bytes.length >= 24 ? view.getUint32(16) * view.getUint32(20) : 0;
  for (let at = 2; at + 9 <= bytes.length; ) {
    if (bytes[at] !== 0xff) return 0;
    const marker = bytes[at + 1];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return view.getUint16(at + 5) * view.getUint16(at + 7);
    at += 2 + view.getUint16(at + 2);
  }
  return 0;
}

function decodePng(bytes: Uint8Array): ImageCell {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return {
    kind: 'image',
    width: png.width,
    height: png.height,
    channels: 4,
    pixels: new Uint8Array(png.data),
  };
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): ImageCell {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: maxPixels / 1e6,
    maxMemoryUsageInMB: 256,
  });
  return { kind: 'image', width: img.width, height: img.height, channels: 4, pixels: img.data };
}

/** Encode an RGBA/RGB/gray image as PNG (for fixtures, previews and generated images). */
export function encodePng(image: ImageCell): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  const n = image.width * image.height;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) {
      png.data[4 * i + k] = image.pixels[i * image.channels + (image.channels >= 3 ? k : 0)];
    }
    png.data[4 * i + 3] = image.channels === 4 ? image.pixels[4 * i + 3] : 255;
  }
  return PNG.sync.write(png);
}
