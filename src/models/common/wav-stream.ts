/**
 * Re-encoding a speech engine's WAV as clean PCM16 without holding the event loop: the samples are
 * decoded and re-written in batches of `WAV_BATCH_SAMPLES`, with a loop turn between batches and
 * the caller's signal (client gone, request deadline) checked at each one.
 *
 * In one pass, a 32 MiB engine output (the TTS cap, ≈ 12 min of 22 kHz speech) is 16 M samples
 * decoded then 16 M `writeInt16LE` calls: hundreds of milliseconds on a loaded machine during
 * which every other request on the API waits.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { MaasError } from '../../common/errors';
import { type Audio, decodeWavSamples, pcm16Container, readWavLayout, writePcm16 } from './audio';

/** Samples per batch: a few milliseconds of work between loop turns. */
export const WAV_BATCH_SAMPLES = 128 * 1024;

/** Throws the signal's reason when it is a MaasError (a deadline), else client_closed. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  if (signal.reason instanceof MaasError) throw signal.reason;
  throw new MaasError('client_closed', 'speech request was cancelled');
}

/** Any readable WAV (`parseWav`'s formats) → its samples and a PCM16 WAV with exact sizes. */
export async function toPcm16Wav(
  bytes: Uint8Array,
  signal?: AbortSignal,
): Promise<{ audio: Audio; wav: Buffer }> {
  const layout = readWavLayout(bytes);
  const audio: Audio = {
    sampleRate: layout.sampleRate,
    channels: layout.channels,
    samples: new Float32Array(layout.sampleCount),
  };
  const wav = pcm16Container(audio);
  for (let from = 0; from < layout.sampleCount; from += WAV_BATCH_SAMPLES) {
    const to = Math.min(layout.sampleCount, from + WAV_BATCH_SAMPLES);
    decodeWavSamples(bytes, layout, audio.samples, from, to);
    writePcm16(wav, audio.samples, from, to);
    await yieldToLoop();
    throwIfAborted(signal);
  }
  return { audio, wav };
}
