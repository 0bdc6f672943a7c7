/**
 * Messages between processes over Redis pub/sub (the `Bus` port in ../bus.ts). One subscriber
 * connection per process subscribes to each topic once, on first use, and fans messages out to
 * local handlers. A process's own messages come back to it too, like the local bus, so handlers
 * need not care where a change happened. Pub/sub is fire-and-forget: a process that is
 * reconnecting misses messages, which is why every subscriber also reads the store.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Bus, BusTopic } from '../bus';

export class RedisBus implements Bus {
  private readonly local = new EventEmitter();
  private readonly subscribed = new Set<BusTopic>();
  private closed = false;

  /**
   * `publisher` is the shared command connection; `subscriber` must be a connection of its own
   * (in subscriber mode Redis accepts no other command).
   */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    this.local.setMaxListeners(0);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel.startsWith(prefix)) this.local.emit(channel.slice(prefix.length), message);
    });
  }

  async publish(topic: BusTopic, message: string): Promise<void> {
    await this.publisher.publish(`${this.prefix}${topic}`, message);
  }

  subscribe(topic: BusTopic, handler: (message: string) => void): () => void {
    this.local.on(topic, handler);
    if (!this.subscribed.has(topic) && !this.closed) {
      this.subscribed.add(topic);
      // Failure here is a lost wake-up channel, not lost data: readers poll the store too.
      this.subscriber.subscribe(`${this.prefix}${topic}`).catch(() => this.subscribed.delete(topic));
    }
    return () => this.local.off(topic, handler);
  }

  /** Resolves once every topic subscribed so far is live on the server (tests wait for it). */
  async ready(): Promise<void> {
    if (this.subscribed.size > 0)
      await this.subscriber.subscribe(...[...this.subscribed].map((t) => `${this.prefix}${t}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local.removeAllListeners();
    this.subscriber.disconnect();
  }
}
