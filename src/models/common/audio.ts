/**
 * WAV (RIFF) audio: parse PCM 8/16/24/32-bit integer and 32-bit float files, encode PCM16, and
 * measure duration. Samples are held as interleaved floats in [-1, 1].
 *
 * Speech engines that write to a pipe cannot seek back to fill in sizes, so they put placeholders
 * in the RIFF and data sizes (espeak-ng --stdout writes 0x7ffff024 / 0x7ffff000): a data chunk
 * longer than the bytes present is read to the end of what is there.
 */
import { fail } from '../../common/errors';

export interface Audio {
  /** Samples per second per channel, Hz. */
  sampleRate: number;
  channels: number;
  /** Interleaved frames: [c0, c1, c0, c1, ...], each in [-1, 1]. */
  samples: Float32Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const MAX_CHANNELS = 16;
const MAX_SAMPLE_RATE = 768_000;

const bad = (why: string): never => fail('invalid_request', `not a readable WAV file: ${why}`);

interface Format {
  format: number;
  channels: number;
  sampleRate: number;
  bits: number;
  blockAlign: number;
}

function readFormat(view: DataView, at: number, size: number): Format {
  if (size < 16) bad('fmt chunk too short');
  let format = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bits = view.getUint16(at + 14, true);
  // WAVE_FORMAT_EXTENSIBLE keeps the real format code in the first 2 bytes of its sub-format GUID.
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40) bad('extensible fmt chunk too short');
    format = view.getUint16(at + 24, true);
  }
  if (format !== FORMAT_PCM && format !== FORMAT_FLOAT)
    bad(`unsupported format code ${format} (PCM or float only)`);
  if (channels < 1 || channels > MAX_CHANNELS) bad(`${channels} channels`);
  if (sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) bad(`sample rate ${sampleRate} Hz`);
  const okBits = format === FORMAT_FLOAT ? [32] : [8, 16, 24, 32];
  if (!okBits.includes(bits)) bad(`${bits}-bit samples in format ${format}`);
  if (blockAlign !== (channels * bits) / 8)
    bad(`block align ${blockAlign} does not match ${channels}×${bits} bits`);
  return { format, channels, sampleRate, bits, blockAlign };
}

function decodeSamples(view: DataView, at: number, count: number, f: Format): Float32Array {
  const out = new Float32Array(count);
  const step = f.bits / 8;
  for (let i = 0; i < count; i++) {
    const p = at + i * step;
    if (f.format === FORMAT_FLOAT) out[i] = view.getFloat32(p, true);
    else if (f.bits === 8) out[i] = (view.getUint8(p) - 128) / 128;
    else if (f.bits === 16) out[i] = view.getInt16(p, true) / 32768;
    else if (f.bits === 24) out[i] = ((view.getInt8(p + 2) << 16) | view.getUint16(p, true)) / 8388608;
    else out[i] = view.getInt32(p, true) / 2147483648;
  }
  return out;
}

/** Where a WAV's samples are and how to read them: what `parseWav` decodes in one go. */
export interface WavLayout extends Format {
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Interleaved samples present (whole frames only). */
  sampleCount: number;
}

/** Walk the RIFF chunks up to `data` (cheap: no sample is read); anything unreadable is `invalid_request`. */
export function readWavLayout(bytes: Uint8Array): WavLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') bad('no RIFF/WAVE header');
  let format: Format | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const declared = view.getUint32(at + 4, true);
    const body = at + 8;
    const size = Math.min(declared, bytes.length - body);
    if (id === 'fmt ') format = readFormat(view, body, size);
    if (id === 'data') {
      if (!format) return bad('data chunk before fmt chunk');
      const frames = Math.floor(size / format.blockAlign);
      return { ...format, dataOffset: body, sampleCount: frames * format.channels };
    }
    at = body + declared + (declared % 2); // chunks are padded to an even length
  }
  return bad('no data chunk');
}

/** Samples [from, to) of a WAV whose layout `readWavLayout` read, into `out` at the same indices. */
export function decodeWavSamples(
  bytes: Uint8Array,
  layout: WavLayout,
  out: Float32Array,
  from: number,
  to: number,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  out.set(decodeSamples(view, layout.dataOffset + from * (layout.bits / 8), to - from, layout), from);
}

/** Parse a RIFF/WAVE file; anything else, or a format it cannot read, is `invalid_request`. */
export function parseWav(bytes: Uint8Array): Audio {
  const layout = readWavLayout(bytes);
  const samples = new Float32Array(layout.sampleCount);
  decodeWavSamples(bytes, layout, samples, 0, layout.sampleCount);
  return { sampleRate: layout.sampleRate, channels: layout.channels, samples };
}

/**
 * A 16-bit PCM WAV of `audio` with its 44-byte header written and its samples still zero: fill them
 * with `writePcm16` (all at once, or in batches between event-loop turns as wav-stream.ts does).
 */
export function pcm16Container(audio: Audio): Buffer {
  const { sampleRate, channels, samples } = audio;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    fail('invalid_request', `audio needs 1..${MAX_CHANNELS} channels, got ${channels}`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > MAX_SAMPLE_RATE) {
    fail('invalid_request', `sample rate must be an integer in 1..${MAX_SAMPLE_RATE} Hz, got ${sampleRate}`);
  }
  if (samples.length % channels !== 0)
    fail('invalid_request', 'sample count is not a whole number of frames');
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28); // byte rate
  out.writeUInt16LE(channels * 2, 32); // block align
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  return out;
}

/** Samples [from, to) into a `pcm16Container`: clipped to [-1, 1], NaN as silence. */
export function writePcm16(out: Buffer, samples: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = samples[i];
    const clipped = v > 1 ? 1 : v < -1 ? -1 : v || 0;
    out.writeInt16LE(Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767), 44 + i * 2);
  }
}

/** Encode as 16-bit PCM WAV (44-byte header); samples outside [-1, 1] are clipped, NaN is silence. */
export function encodeWav(audio: Audio): Buffer {
  const out = pcm16Container(audio);
  writePcm16(out, audio.samples, 0, audio.samples.length);
  return out;
}

/** Length in seconds: frames ÷ sample rate. */
export function audioDuration(audio: Audio): number {
  return audio.samples.length / audio.channels / audio.sampleRate;
}

/** Root-mean-square level of all samples (0 = silence, ≈ 0.707 for a full-scale sine). */
export function rmsLevel(audio: Audio): number {
  let sum = 0;
  for (const v of audio.samples) sum += v * v;
  return audio.samples.length > 0 ? Math.sqrt(sum / audio.samples.length) : 0;
}
