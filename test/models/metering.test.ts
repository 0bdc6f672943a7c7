import { describe, expect, it } from 'vitest';
import { audioDuration, encodeWav, parseWav } from '../../src/models/common/audio';
import { audioUsage, imageUsage, sumUsage, textUsage } from '../../src/models/common/metering';

describe('metering', () => {
  it('counts tokens as prompt + completion', () => {
    expect(textUsage(12, 30)).toEqual({
      unit: 'tokens',
      quantity: 42,
      promptTokens: 12,
      completionTokens: 30,
    });
    expect(textUsage(7).quantity).toBe(7);
    expect(() => textUsage(-1, 0)).toThrow();
    expect(() => textUsage(1.5, 0)).toThrow();
  });

  it('counts images and their pixels', () => {
    expect(imageUsage(4, 256, 256)).toEqual({ unit: 'images', quantity: 4, pixels: 4 * 65536 });
  });

  it('rounds audio up to the millisecond, from a real WAV', () => {
    const wav = encodeWav({ sampleRate: 22050, channels: 1, samples: new Float32Array(22050 * 2 + 1) });
    const seconds = audioDuration(parseWav(wav));
    expect(audioUsage(seconds)).toEqual({ unit: 'audio_seconds', quantity: 2.001 });
    expect(audioUsage(2).quantity).toBe(2);
    expect(audioUsage(0.0001).quantity).toBe(0.001);
    expect(() => audioUsage(Number.NaN)).toThrow();
  });

  it('sums usage of one unit and refuses to mix units', () => {
    expect(sumUsage([textUsage(1, 2), textUsage(3, 4)])).toEqual(textUsage(4, 6));
    expect(sumUsage([audioUsage(0.1), audioUsage(0.2)]).quantity).toBe(0.3);
    expect(sumUsage([imageUsage(1, 2, 2), imageUsage(2, 2, 2)])).toEqual(imageUsage(3, 2, 2));
    expect(() =>
      sumUsage<ReturnType<typeof textUsage> | ReturnType<typeof audioUsage>>([textUsage(1), audioUsage(1)]),
    ).toThrow();
  });
});
