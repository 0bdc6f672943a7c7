/** Reading a training's SSE stream (`GET /api/v1/trainings/:id/events`) over a real socket. */
import { expect } from 'vitest';

export interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Read SSE events until `stop` says so (or the stream ends); returns what was read. */
export async function readEvents(
  url: string,
  auth: Record<string, string>,
  lastEventId: number | null,
  stop: (e: SseEvent) => boolean,
): Promise<SseEvent[]> {
  const ac = new AbortController();
  const res = await fetch(url, {
    headers: {
      ...auth,
      accept: 'text/event-stream',
      ...(lastEventId ? { 'last-event-id': String(lastEventId) } : {}),
    },
    signal: ac.signal,
  });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const got: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf('\n\n');
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        if (!field('id')) continue;
        const e = {
          id: Number(field('id')),
          event: field('event') ?? '',
          data: JSON.parse(field('data') ?? '{}'),
        };
        got.push(e);
        if (stop(e)) {
          ac.abort();
          return got;
        }
      }
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
  return got;
}
