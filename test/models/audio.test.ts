import { describe, expect, it } from 'vitest';
import { audioDuration, encodeWav, parseWav, rmsLevel } from '../../src/models/common/audio';

function sine(hz: number, seconds: number, rate: number, channels = 1): Float32Array {
  const frames = Math.round(seconds * rate);
  const out = new Float32Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++)
      out[i * channels + c] = 0.5 * Math.sin((2 * Math.PI * hz * i) / rate) * (c + 1) * 0.5;
  }
  return out;
}

/** A WAV header written by hand, for formats encodeWav does not produce. */
function header(format: number, channels: number, rate: number, bits: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

describe('WAV', () => {
  it('round-trips stereo PCM16 within one quantisation step', () => {
    const samples = sine(440, 0.25, 16000, 2);
    const wav = encodeWav({ sampleRate: 16000, channels: 2, samples });
    expect(wav.length).toBe(44 + samples.length * 2);
    const back = parseWav(wav);
    expect([back.sampleRate, back.channels, back.samples.length]).toEqual([16000, 2, samples.length]);
    let worst = 0;
    for (let i = 0; i < samples.length; i++) worst = Math.max(worst, Math.abs(back.samples[i] - samples[i]));
    expect(worst).toBeLessThanOrEqual(1 / 32767);
    expect(audioDuration(back)).toBeCloseTo(0.25, 6);
    expect(rmsLevel({ sampleRate: 16000, channels: 1, samples: sine(440, 1, 16000) })).toBeCloseTo(
      0.25 / Math.SQRT2,
      3,
    );
  });

  it('clips out-of-range samples and writes NaN as silence', () => {
    const back = parseWav(
      encodeWav({ sampleRate: 8000, channels: 1, samples: Float32Array.from([3, -3, Number.NaN]) }),
    );
    expect(Array.from(back.samples)).toEqual([32767 / 32768, -1, 0]);
  });

  it('reads 8-bit, 24-bit and float files and skips unknown chunks', () => {
    const u8 = Buffer.concat([header(1, 1, 8000, 8, 3), Buffer.from([0, 128, 255]), Buffer.from([0])]);
    expect(Array.from(parseWav(u8).samples)).toEqual([-1, 0, 127 / 128]);
    const b24 = Buffer.from([0x00, 0x00, 0xc0, 0xff, 0xff, 0x3f]); // -0.5, then 0.5 - 2^-23
    expect(parseWav(Buffer.concat([header(1, 1, 8000, 24, 6), b24])).samples[0]).toBe(-0.5);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(-0.75, 4);
    const withList = Buffer.concat([header(3, 1, 8000, 32, 8), f32]);
    // Insert an odd-sized LIST chunk (padded to even) between fmt and data.
    const list = Buffer.concat([
      Buffer.from('LIST', 'latin1'),
      Buffer.from([3, 0, 0, 0]),
      Buffer.from('abc\0'),
    ]);
    const spliced = Buffer.concat([withList.subarray(0, 36), list, withList.subarray(36)]);
    expect(Array.from(parseWav(spliced).samples)).toEqual([0.25, -0.75]);
  });

  it('reads a pipe-written file whose sizes are placeholders', () => {
    const pcm = encodeWav({ sampleRate: 22050, channels: 1, samples: sine(200, 0.1, 22050) });
    pcm.writeUInt32LE(0x7ffff024, 4);
    pcm.writeUInt32LE(0x7ffff000, 40);
    const audio = parseWav(Buffer.concat([pcm, Buffer.from([1])])); // a trailing half sample is dropped
    expect(audio.samples.length).toBe(2205);
    expect(audioDuration(audio)).toBeCloseTo(0.1, 6);
  });

  it('refuses what is not a readable WAV as invalid_request', () => {
    const cases = [
      Buffer.from('hello world, not audio'),
      header(2, 1, 8000, 4, 0), // ADPCM
      header(1, 0, 8000, 16, 0),
      header(1, 1, 8000, 16, 0).subarray(0, 36), // no data chunk
    ];
    for (const bytes of cases) {
      expect(() => parseWav(bytes)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
    expect(() => encodeWav({ sampleRate: 8000, channels: 2, samples: new Float32Array(3) })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
  });
});
