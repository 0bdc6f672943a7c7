import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { parseWav, rmsLevel } from '../../src/models/common/audio';
import {
  defaultSpeechEngines,
  espeakNg,
  parseEspeakVariants,
  parseEspeakVoices,
  parseFliteVoices,
  SpeechEngineRegistry,
} from '../../src/models/tts/engines';
import { findExecutable, runProcess } from '../../src/models/tts/process';
import { TextToSpeech } from '../../src/models/tts/speech';

const PATH = process.env.PATH;
const hasEspeak = (await findExecutable('espeak-ng', PATH)) !== null;
const hasFlite = (await findExecutable('flite', PATH)) !== null;
const SENTENCE = 'The quick brown fox jumps over the lazy dog.';

const limits = { env: process.env, timeoutMs: 5000, maxOutputBytes: 1 << 20, label: 'test' };

describe('child processes', () => {
  it('passes stdin, returns stdout, and never involves a shell', async () => {
    const r = await runProcess('cat', [], { ...limits, stdin: '$(echo pwned); `id` | x' });
    expect(r.stdout.toString()).toBe('$(echo pwned); `id` | x');
  });

  it('kills a process past its time limit with deadline_exceeded', async () => {
    const started = Date.now();
    await expect(runProcess('sleep', ['10'], { ...limits, timeoutMs: 150 })).rejects.toMatchObject({
      code: 'deadline_exceeded',
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('kills a process that writes too much, and reports failures and missing binaries', async () => {
    await expect(
      runProcess('head', ['-c', '1000000', '/dev/zero'], { ...limits, maxOutputBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'inference_failed' });
    await expect(runProcess('false', [], limits)).rejects.toMatchObject({ code: 'inference_failed' });
    await expect(runProcess('/nonexistent/espeak-ng', [], limits)).rejects.toMatchObject({
      code: 'engine_unavailable',
    });
  });

  describe('findExecutable', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'maas-tts-'));
      await mkdir(join(dir, 'bin'));
      await writeFile(join(dir, 'bin', 'plainfile'), 'not executable', { mode: 0o644 });
      await symlink('/bin/sh', join(dir, 'bin', 'runme'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('finds executables on absolute PATH entries only', async () => {
      expect(await findExecutable('runme', `${dir}/nope:${dir}/bin`)).toBe(join(dir, 'bin', 'runme'));
      expect(await findExecutable('plainfile', `${dir}/bin`)).toBeNull();
      expect(await findExecutable('runme', 'relative/bin::')).toBeNull();
      expect(await findExecutable('runme', undefined)).toBeNull();
      await expect(findExecutable('../bin/sh', PATH)).rejects.toThrow(MaasError);
    });
  });
});

describe('speech engine registry', () => {
  it('rejects a duplicate engine and lists in preference order', () => {
    const reg = defaultSpeechEngines();
    expect(reg.list().map((e) => e.name)).toEqual(['espeak-ng', 'flite']);
    expect(() => reg.register(espeakNg)).toThrow(/already/);
  });

  it('parses the engines voice listings', () => {
    const listing = [
      'Pty Language       Age/Gender VoiceName          File                 Other Languages',
      ' 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)',
      ' 5  fr-fr           --/M      French             roa/fr               (fr 5)',
    ].join('\n');
    expect(parseEspeakVoices(listing)).toEqual([
      { id: 'en-us', name: 'English (America)', language: 'en-us', engine: 'espeak-ng' },
      { id: 'fr-fr', name: 'French', language: 'fr-fr', engine: 'espeak-ng' },
    ]);
    expect(
      parseEspeakVariants(
        [
          'Pty Language       Age/Gender VoiceName          File                 Other Languages',
          ' 5  variant         --/M      Mr serious         !v/Mr                ',
          ' 5  variant         --/F      f3                 !v/f3                ',
        ].join('\n'),
      ),
    ).toEqual(['Mr', 'f3']);
    expect(parseFliteVoices('Voices available: kal awb_time kal16 awb rms slt \n').map((v) => v.id)).toEqual([
      'kal',
      'kal16',
      'awb',
      'rms',
      'slt',
    ]);
  });
});

describe('TextToSpeech', () => {
  it('with no engine on PATH, says how to install one (engine_unavailable, 503)', async () => {
    const tts = new TextToSpeech({ env: { PATH: '' } });
    const err = await tts.synthesize({ text: 'hello' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaasError);
    expect((err as MaasError).code).toBe('engine_unavailable');
    expect((err as MaasError).status).toBe(503);
    expect((err as MaasError).message).toMatch(
      /espeak-ng or flite: install with `apt-get install espeak-ng`/,
    );
    expect((await tts.status()).every((s) => !s.available)).toBe(true);
    expect(await tts.voices()).toEqual([]);
  });

  it('validates text, speed, engine and voice as invalid_request before running anything', async () => {
    const tts = new TextToSpeech({ env: { PATH: '' } });
    for (const req of [
      { text: 'x'.repeat(4097) },
      { text: '   ' },
      { text: 'a\0b' },
      { text: 'hi', speed: 0.1 },
      { text: 'hi', speed: Number.NaN },
      { text: 'hi', engine: 'festival' },
    ]) {
      await expect(tts.synthesize(req)).rejects.toMatchObject({ code: 'invalid_request' });
    }
    // 4,096 emoji are 8,192 UTF-16 units but 4,096 characters: within the limit.
    await expect(tts.synthesize({ text: '😀'.repeat(4096) })).rejects.toMatchObject({
      code: 'engine_unavailable',
    });
  });

  it('turns engine output that is not WAV into inference_failed', async () => {
    const engines = new SpeechEngineRegistry().register({
      name: 'echo',
      binary: 'echo',
      defaultVoice: 'plain',
      install: 'coreutils',
      listVoices: async () => [{ id: 'plain', name: 'plain', language: '', engine: 'echo' }],
      synthesize: async (runner, job) => (await runner.run([job.text])).stdout,
    });
    const tts = new TextToSpeech({ engines, env: process.env, maxConcurrent: 1, maxQueued: 2 });
    await expect(tts.synthesize({ text: 'RIFF?' })).rejects.toMatchObject({ code: 'inference_failed' });
    // Three at once through one slot: each waits its turn (none is refused), and the slot comes back.
    const results = await Promise.allSettled([1, 2, 3].map((i) => tts.synthesize({ text: `t${i}` })));
    expect(results.map((r) => r.status === 'rejected' && (r.reason as MaasError).code)).toEqual(
      new Array(3).fill('inference_failed'),
    );
    expect(tts.load).toEqual({ running: 0, queued: 0 });
    await expect(tts.synthesize({ text: 'hi', voice: 'other' })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('bounds concurrency and the queue, and cancels queued and running work on abort', async () => {
    // A real engine row whose "synthesis" is `sleep 10`: it holds its slot until killed.
    const engines = new SpeechEngineRegistry().register({
      name: 'sleeper',
      binary: 'sleep',
      defaultVoice: 'v',
      install: 'coreutils',
      listVoices: async () => [{ id: 'v', name: 'v', language: '', engine: 'sleeper' }],
      synthesize: async (runner) => (await runner.run(['10'])).stdout,
    });
    const tts = new TextToSpeech({ engines, env: process.env, maxConcurrent: 1, maxQueued: 1 });
    const running = new AbortController();
    const queued = new AbortController();
    const first = tts.synthesize({ text: 'a', signal: running.signal }).catch((e: unknown) => e);
    await expect.poll(() => tts.load.running).toBe(1);
    const second = tts.synthesize({ text: 'b', signal: queued.signal }).catch((e: unknown) => e);
    await expect.poll(() => tts.load.queued).toBe(1);
    await expect(tts.synthesize({ text: 'c' })).rejects.toMatchObject({ code: 'queue_full', status: 429 });
    const started = Date.now();
    queued.abort();
    expect(await second).toMatchObject({ code: 'client_closed' });
    expect(tts.load).toEqual({ running: 1, queued: 0 });
    running.abort();
    expect(await first).toMatchObject({ code: 'client_closed' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(tts.load).toEqual({ running: 0, queued: 0 });
  });

  describe.skipIf(!hasEspeak)('with espeak-ng installed', () => {
    const tts = new TextToSpeech({ env: process.env });

    it('speaks a sentence as a WAV of plausible length', async () => {
      const r = await tts.synthesize({ text: SENTENCE });
      expect(r.engine).toBe('espeak-ng');
      expect(r.voice).toBe('en-us');
      const audio = parseWav(r.wav);
      expect(r.wav.readUInt32LE(40)).toBe(r.wav.length - 44); // exact sizes, not espeak's placeholders
      expect(audio.channels).toBe(1);
      expect(audio.sampleRate).toBe(22050);
      expect(r.durationSeconds).toBeGreaterThan(1);
      expect(r.durationSeconds).toBeLessThan(6);
      expect(rmsLevel(audio)).toBeGreaterThan(0.01);
    });

    it('speed changes the duration; voices are listed; text that looks like options is spoken', async () => {
      const [slow, fast] = await Promise.all([
        tts.synthesize({ text: SENTENCE, speed: 0.6 }),
        tts.synthesize({ text: SENTENCE, speed: 2, voice: 'en-gb' }),
      ]);
      expect(slow.durationSeconds / fast.durationSeconds).toBeGreaterThan(2);
      const ids = (await tts.voices('espeak-ng')).map((v) => v.id);
      expect(ids).toEqual(expect.arrayContaining(['en-us', 'en-gb', 'fr-fr', 'de']));
      const dashed = await tts.synthesize({ text: '--help -w /tmp/x.wav' });
      expect(dashed.durationSeconds).toBeGreaterThan(0.5);
      for (const voice of ['../../etc/passwd', 'en-us+nope', 'en-us+f3+f2', 'en-us+', '-w']) {
        await expect(tts.synthesize({ text: 'hi', voice })).rejects.toMatchObject({
          code: 'invalid_request',
        });
      }
    });

    it('takes espeak-ng variants and OpenAI voice names', async () => {
      const [plain, female, nova] = await Promise.all([
        tts.synthesize({ text: 'Hello there.', voice: 'en-us' }),
        tts.synthesize({ text: 'Hello there.', voice: 'en-us+f3' }),
        tts.synthesize({ text: 'Hello there.', voice: 'nova' }),
      ]);
      expect(female.voice).toBe('en-us+f3');
      expect(nova.voice).toBe('en-us+f3');
      expect(nova.wav.equals(female.wav)).toBe(true);
      expect(plain.wav.equals(female.wav)).toBe(false);
    });
  });

  describe.skipIf(!hasFlite)('with flite installed', () => {
    it('speaks with a flite voice through a temp file', async () => {
      const tts = new TextToSpeech({ env: process.env });
      const r = await tts.synthesize({ text: SENTENCE, engine: 'flite', voice: 'kal' });
      expect(r.engine).toBe('flite');
      expect((await tts.synthesize({ text: 'Hi.', engine: 'flite', voice: 'shimmer' })).voice).toBe('slt');
      await expect(tts.synthesize({ text: 'Hi.', engine: 'flite', voice: 'slt+f3' })).rejects.toMatchObject({
        code: 'invalid_request',
      });
      expect(r.audio.sampleRate).toBeGreaterThanOrEqual(8000);
      expect(r.durationSeconds).toBeGreaterThan(1);
      expect(r.durationSeconds).toBeLessThan(6);
      expect(rmsLevel(r.audio)).toBeGreaterThan(0.01);
    });
  });
});
