/**
 * The `fetch` of the CLI's clients, on node:http. Node's own fetch loads undici and compiles its
 * HTTP parser from WebAssembly at the first request: ≈ 0.1 s of CPU per command, a third of what
 * `maas predict` costs end to end. node:http parses with the built-in C parser. It handles what a
 * CLI call sends (no body, a string, bytes); a Blob or a stream (an upload) goes to the real fetch.
 * The answer carries what the clients read: ok, status, statusText, headers.get, text, json,
 * arrayBuffer and body (an async iterable of chunks, for the training event stream).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

class NodeResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  private consumed = false;

  constructor(private readonly message: IncomingMessage) {
    this.status = message.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.statusText = message.statusMessage ?? '';
    this.headers = {
      get: (name) => {
        const v = message.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }

  get body(): AsyncIterable<Uint8Array> {
    this.consumed = true;
    return this.message;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.consumed) throw new TypeError('the body was already read');
    this.consumed = true;
    const chunks: Buffer[] = [];
    for await (const c of this.message) chunks.push(c as Buffer);
    const all = Buffer.concat(chunks);
    return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return Buffer.from(await this.arrayBuffer()).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}

/** Headers as a plain record (the clients pass records; `Headers` itself is not touched: it loads undici). */
function headersOf(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (Array.isArray(h)) return Object.fromEntries(h);
  const entries = (h as { entries?: () => Iterable<[string, string]> }).entries;
  if (typeof entries === 'function') return Object.fromEntries(entries.call(h));
  return { ...(h as Record<string, string>) };
}

/** fetch(url, init) over node:http for string, bytes or no body; anything else: the real fetch. */
export const httpFetch: typeof fetch = (input, init) => {
  const body = init?.body;
  const simple =
    body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
  if (!simple || typeof input !== 'string') return fetch(input, init);
  const url = new URL(input);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers = headersOf(init?.headers);
  if (body !== undefined && body !== null) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise<Response>((resolve, reject) => {
    const req = send(
      url,
      { method: init?.method ?? 'GET', headers, signal: init?.signal ?? undefined },
      (res) => resolve(new NodeResponse(res) as unknown as Response),
    );
    // Same shape as fetch's network error: the reason in `cause`.
    req.on('error', (e) => reject(Object.assign(new TypeError('fetch failed'), { cause: e })));
    req.end(body ?? undefined);
  });
};
