/**
 * Server-sent events over a fastify reply: the route returns `sse.stream` (fastify pipes it) and
 * writes events as they come. Writes after the client went away are dropped, not thrown.
 *
 *   data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n
 *   data: [DONE]\n\n
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

export class SseStream {
  readonly stream = new PassThrough();

  constructor(reply: FastifyReply) {
    reply.header('content-type', 'text/event-stream; charset=utf-8');
    reply.header('cache-control', 'no-cache');
    // Proxies (nginx) would otherwise buffer the stream and deliver it all at the end.
    reply.header('x-accel-buffering', 'no');
  }

  get open(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }

  /** One `data:` event; `event` names it (native streams), OpenAI's streams leave it unnamed. */
  send(data: unknown, event?: string): void {
    if (!this.open) return;
    const head = event ? `event: ${event}\n` : '';
    this.stream.write(`${head}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (this.open) this.stream.end();
  }
}
