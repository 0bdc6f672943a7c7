import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { badData } from '../problems';
import type { ImageCell } from '../table';

/** Largest image decoded: 4096 × 4096 pixels (64 MiB as RGBA), checked from the header first. */
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
export function decodeImage(bytes: Uint8Array, where: string): ImageCell {
  const kind = sniffImage(bytes);
  if (kind === null) badData(where, 'not a PNG or JPEG image');
  try {
    return kind === 'png' ? decodePng(bytes, where) : decodeJpeg(bytes);
  } catch (err) {
    if (err instanceof Error && err.name === 'MaasError') throw err;
    badData(
      where,
      `cannot decode ${kind.toUpperCase()}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function decodePng(bytes: Uint8Array, where: string): ImageCell {
  // IHDR is always first: width and height are big-endian uint32 at bytes 16 and 20.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const pixels = view.getUint32(16) * view.getUint32(20);
    if (pixels > MAX_IMAGE_PIXELS)
      badData(where, `image has ${pixels} pixels, more than ${MAX_IMAGE_PIXELS}`);
  }
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return {
    kind: 'image',
    width: png.width,
    height: png.height,
    channels: 4,
    pixels: new Uint8Array(png.data),
  };
}

function decodeJpeg(bytes: Uint8Array): ImageCell {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
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
