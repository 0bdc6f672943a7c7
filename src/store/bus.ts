/**
 * Messages between the processes of one deployment: a training event was stored (wake the SSE
 * streams following that job), a model version was removed (drop it from every version cache and
 * unload it), a prediction was canceled (stop it in the process running it). Delivery is best effort and at most once: every subscriber also reads the store, so a
 * lost message costs latency (the next poll), never correctness.
 *
 * `LocalBus` is the embedded default (one process); `src/store/redis` has the Redis adapter.
 */
import { EventEmitter } from 'node:events';

/** The topics every process may publish and subscribe to; the message is a JSON string. */
export type BusTopic =
  | 'training-event'
  | 'version-removed'
  | 'keys-changed'
  | 'models-changed'
  | 'prediction-canceled';

export interface Bus {
  publish(topic: BusTopic, message: string): Promise<void>;
  /** Returns the function that unsubscribes `handler`. */
  subscribe(topic: BusTopic, handler: (message: string) => void): () => void;
  /** Idempotent. */
  close(): Promise<void>;
}

/** One process: an EventEmitter. `publish` delivers synchronously to this process's subscribers. */
export class LocalBus implements Bus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  async publish(topic: BusTopic, message: string): Promise<void> {
    this.emitter.emit(topic, message);
  }

  subscribe(topic: BusTopic, handler: (message: string) => void): () => void {
    this.emitter.on(topic, handler);
    return () => this.emitter.off(topic, handler);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
