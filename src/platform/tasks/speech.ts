/**
 * Built-in speech "models": virtual model names every tenant can call for text-to-speech, backed by
 * the separately installed engines of `src/models/tts` (no ONNX file, nothing in the registry).
 * One row per name; a duplicate is refused. `tts` picks the first installed engine; OpenAI's
 * `tts-1`/`tts-1-hd` are accepted so unchanged clients work; an engine's own name pins it.
 */
import type { AudioUsage } from '../../models/common/metering';

export interface SpeechModel {
  id: string;
  /** Engine name, or undefined for "the first installed one". */
  engine?: string;
  description: string;
}

export interface SpeechOutcome {
  model: string;
  wav: Buffer;
  durationSeconds: number;
  engine: string;
  voice: string;
  usage: AudioUsage;
}

export class SpeechModels {
  private readonly rows = new Map<string, SpeechModel>();

  add(model: SpeechModel): this {
    if (this.rows.has(model.id)) throw new Error(`speech model '${model.id}' is already registered`);
    this.rows.set(model.id, model);
    return this;
  }

  get(id: string): SpeechModel | undefined {
    return this.rows.get(id);
  }

  list(): SpeechModel[] {
    return [...this.rows.values()];
  }
}

export function defaultSpeechModels(): SpeechModels {
  return new SpeechModels()
    .add({ id: 'tts', description: 'Text to speech with the first installed engine (espeak-ng, flite)' })
    .add({ id: 'tts-1', description: "OpenAI's name for text to speech; same as tts" })
    .add({ id: 'tts-1-hd', description: "OpenAI's name for text to speech; same as tts" })
    .add({ id: 'espeak-ng', engine: 'espeak-ng', description: 'Text to speech with espeak-ng' })
    .add({ id: 'flite', engine: 'flite', description: 'Text to speech with flite' });
}
