/**
 * Speech engines maas can drive: each is a row in a registry that knows its binary, how to list its
 * voices and how to turn text into WAV bytes. The engines are separately installed programs
 * (Debian `espeak-ng`, `flite`), never linked in: a crash or hang in one costs a child process,
 * not the server.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail } from '../../common/errors';
import type { ProcessResult } from './process';

export interface Voice {
  /** What a request passes as `voice`, e.g. 'en-us' (espeak-ng) or 'slt' (flite). */
  id: string;
  /** Human-readable, e.g. 'English (America)'. */
  name: string;
  /** BCP-47-ish language tag, e.g. 'en-us'; '' when the engine does not say. */
  language: string;
  engine: string;
}

export interface SpeechJob {
  text: string;
  voice: string;
  /** Rate multiplier: 1 = the engine's normal pace, 2 = twice as fast (OpenAI's 0.25..4). */
  speed: number;
}

/** What an engine may do: run its own binary (args array, optional stdin) under the caller's limits. */
export interface EngineRunner {
  run(args: readonly string[], stdin?: string): Promise<ProcessResult>;
  /** Largest output the engine may produce, bytes (also applied to files it writes). */
  maxOutputBytes: number;
}

export interface SpeechEngine {
  name: string;
  /** Executable looked up on PATH. */
  binary: string;
  defaultVoice: string;
  /** How to install it, for the 503 a missing engine gives. */
  install: string;
  listVoices(runner: EngineRunner): Promise<Voice[]>;
  /** Voice modifiers accepted as `voice+variant` (espeak-ng's `en-us+f3`); absent = none. */
  listVariants?(runner: EngineRunner): Promise<string[]>;
  /** WAV bytes (sizes in the header may be placeholders when the engine wrote to a pipe). */
  synthesize(runner: EngineRunner, job: SpeechJob): Promise<Uint8Array>;
}

export class SpeechEngineRegistry {
  private readonly engines = new Map<string, SpeechEngine>();

  register(engine: SpeechEngine): this {
    if (this.engines.has(engine.name))
      throw new Error(`speech engine '${engine.name}' is already registered`);
    this.engines.set(engine.name, engine);
    return this;
  }

  get(name: string): SpeechEngine | undefined {
    return this.engines.get(name);
  }

  /** In registration order, which is the order of preference. */
  list(): SpeechEngine[] {
    return [...this.engines.values()];
  }
}

/** espeak-ng's default pace, words per minute, and the range it accepts. */
const ESPEAK_WPM = 175;
const ESPEAK_MIN_WPM = 80;
const ESPEAK_MAX_WPM = 450;

/**
 * `espeak-ng --voices` prints a header then one row per voice:
 *   ` 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)`
 * (priority, language, age/gender, name with underscores for spaces, file, other languages).
 */
export function parseEspeakVoices(listing: string): Voice[] {
  const voices = new Map<string, Voice>();
  for (const line of listing.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d+$/.test(cols[0])) continue;
    const [, language, , name] = cols;
    if (!voices.has(language)) {
      voices.set(language, { id: language, name: name.replace(/_/g, ' '), language, engine: 'espeak-ng' });
    }
  }
  return [...voices.values()];
}

/** `espeak-ng --voices=variant` rows end in a file `!v/f3`; the id is what follows `!v/`. */
export function parseEspeakVariants(listing: string): string[] {
  const ids = new Set<string>();
  for (const line of listing.split('\n')) {
    const m = /\s!v\/([A-Za-z0-9_-]+)/.exec(line);
    if (m) ids.add(m[1]);
  }
  return [...ids];
}

export const espeakNg: SpeechEngine = {
  name: 'espeak-ng',
  binary: 'espeak-ng',
  defaultVoice: 'en-us',
  install: 'apt-get install espeak-ng',
  async listVoices(runner) {
    return parseEspeakVoices((await runner.run(['--voices'])).stdout.toString('utf8'));
  },
  async listVariants(runner) {
    return parseEspeakVariants((await runner.run(['--voices=variant'])).stdout.toString('utf8'));
  },
  async synthesize(runner, job) {
    const wpm = Math.round(Math.min(Math.max(ESPEAK_WPM * job.speed, ESPEAK_MIN_WPM), ESPEAK_MAX_WPM));
    // --stdin: the whole text from stdin (never as an argument, so it cannot look like an option);
    // -b 1: the input is UTF-8.
    const args = ['--stdout', '--stdin', '-b', '1', '-v', job.voice, '-s', String(wpm)];
    return (await runner.run(args, job.text)).stdout;
  },
};

/** `flite -lv` prints `Voices available: kal awb_time kal16 awb rms slt`. */
export function parseFliteVoices(listing: string): Voice[] {
  const names = listing.replace(/^.*?:/s, '').trim().split(/\s+/).filter(Boolean);
  // awb_time is a limited-domain voice that can only say clock times.
  return names
    .filter((n) => n !== 'awb_time')
    .map((n) => ({ id: n, name: `flite ${n}`, language: 'en', engine: 'flite' }));
}

export const flite: SpeechEngine = {
  name: 'flite',
  binary: 'flite',
  defaultVoice: 'slt',
  install: 'apt-get install flite',
  async listVoices(runner) {
    return parseFliteVoices((await runner.run(['-lv'])).stdout.toString('utf8'));
  },
  async synthesize(runner, job) {
    // flite reads text from a file and writes the WAV to a file: both live in a private temp folder.
    const dir = await mkdtemp(join(tmpdir(), 'maas-flite-'));
    try {
      const input = join(dir, 'input.txt');
      const output = join(dir, 'speech.wav');
      await writeFile(input, job.text, 'utf8');
      const stretch = (1 / job.speed).toFixed(3);
      await runner.run([
        '-f',
        input,
        '-o',
        output,
        '-voice',
        job.voice,
        '--setf',
        `duration_stretch=${stretch}`,
      ]);
      if ((await stat(output)).size > runner.maxOutputBytes) {
        fail('inference_failed', `flite output exceeds ${runner.maxOutputBytes} bytes`);
      }
      return await readFile(output);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/**
 * OpenAI's voice names, so `/v1/audio/speech` clients work unchanged: each maps to a voice of each
 * engine of a similar register (the names promise nothing more). Engines absent here keep the name.
 */
export const openAIVoiceAliases: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  alloy: { 'espeak-ng': 'en-us', flite: 'slt' },
  ash: { 'espeak-ng': 'en-us+m3', flite: 'rms' },
  ballad: { 'espeak-ng': 'en-gb+m2', flite: 'awb' },
  coral: { 'espeak-ng': 'en-us+f2', flite: 'slt' },
  echo: { 'espeak-ng': 'en-us+m1', flite: 'kal' },
  fable: { 'espeak-ng': 'en-gb-x-rp', flite: 'awb' },
  onyx: { 'espeak-ng': 'en-us+m7', flite: 'rms' },
  nova: { 'espeak-ng': 'en-us+f3', flite: 'slt' },
  sage: { 'espeak-ng': 'en-gb+f4', flite: 'slt' },
  shimmer: { 'espeak-ng': 'en-us+f5', flite: 'slt' },
  verse: { 'espeak-ng': 'en-gb-scotland', flite: 'kal16' },
};

/** espeak-ng first (many languages), then flite (English, more natural voices). */
export function defaultSpeechEngines(): SpeechEngineRegistry {
  return new SpeechEngineRegistry().register(espeakNg).register(flite);
}
