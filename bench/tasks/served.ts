/** The served path of the task benchmarks: a real `maas serve` child process with the bench's model
 * registered, and a lean keep-alive HTTP client (node:http, one socket) so the client's own cost
 * stays small next to the server's. The model is registered through the platform's registry before
 * the server starts (metadata such as word2vec's 3,000-word list is too long for the upload's query
 * string), in the same data folder the server then opens. */

import { mkdtemp } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { type BenchServer, KEY, startServer } from '../serve/harness';
import type { BenchModel } from './models';

/** The served model's name (the admin key's tenant owns it). */
export const SERVED_MODEL = 'bench-model';

export async function serveModel(model: BenchModel, task: string): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-bench-task-'));
  const config = loadConfig({}, {}, { dataDir, adminKey: KEY, logLevel: 'silent', port: 0 });
  const platform = await openPlatform(config);
  try {
    await platform.registry.upload(DEFAULT_TENANT, SERVED_MODEL, Readable.from([Buffer.from(model.onnx)]), {
      task,
      metadata: model.metadata,
    });
  } finally {
    await platform.close();
  }
  return startServer([], dataDir);
}

export interface Reply {
  status: number;
  body: string;
  /** ms from sending the request to its first body byte (time to first token when streaming). */
  firstByteMs: number;
}

/** A client of one keep-alive socket: requests go one at a time, as a single user would send them. */
export class BenchClient {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(readonly url: string) {}

  post(path: string, payload: unknown): Promise<Reply> {
    const body = JSON.stringify(payload);
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.url}${path}`,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: `Bearer ${KEY}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let firstByteMs = Number.NaN;
          res.on('data', (c: Buffer) => {
            if (chunks.length === 0) firstByteMs = performance.now() - start;
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              firstByteMs,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** POST and parse a JSON answer; anything but 200 throws with the body's start. */
  async json<T>(path: string, payload: unknown): Promise<T> {
    const reply = await this.post(path, payload);
    if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
    return JSON.parse(reply.body) as T;
  }

  /**
   * The server's own time on `route` so far: fastify's elapsed time (request parsed → reply sent)
   * summed over its 200 answers, from /metrics. Two readings around the timed calls give the
   * server's mean per call; the rest of a call's time is the client, the socket and HTTP framing.
   */
  async serverTotals(route: string): Promise<{ seconds: number; count: number }> {
    const res = await fetch(`${this.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    const text = await res.text();
    const total = (what: 'sum' | 'count') => {
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`maas_request_duration_seconds_${what}{`)) continue;
        if (!line.includes(`route="${route}"`) || !line.includes('status="200"')) continue;
        sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    };
    return { seconds: total('sum'), count: total('count') };
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface StreamedCompletion {
  text: string;
  completionTokens: number;
  /** ms from the request to the first SSE event that carries text. */
  firstTokenMs: number;
}

/**
 * A streamed `/v1/completions` call read as a client sees it: SSE `data:` events, each delta's
 * arrival time, `usage` from the final chunk (stream_options.include_usage), then `[DONE]`.
 */
export function streamCompletion(
  client: BenchClient,
  payload: Record<string, unknown>,
): Promise<StreamedCompletion> {
  const body = JSON.stringify({ ...payload, stream: true, stream_options: { include_usage: true } });
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${client.url}/v1/completions`,
      {
        method: 'POST',
        agent: client.agent,
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let buffer = '';
        let text = '';
        let completionTokens = -1;
        let firstTokenMs = Number.NaN;
        let done = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let cut = buffer.indexOf('\n\n');
          while (cut >= 0) {
            const event = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf('\n\n');
            const data = event.startsWith('data: ') ? event.slice(6) : '';
            if (data === '[DONE]') done = true;
            else if (data !== '') {
              const parsed = JSON.parse(data) as {
                choices?: { text?: string }[];
                usage?: { completion_tokens?: number } | null;
              };
              const delta = parsed.choices?.[0]?.text ?? '';
              if (delta !== '' && Number.isNaN(firstTokenMs)) firstTokenMs = performance.now() - start;
              text += delta;
              if (parsed.usage?.completion_tokens !== undefined)
                completionTokens = parsed.usage.completion_tokens;
            }
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200 || !done || completionTokens < 0)
            reject(new Error(`stream: status ${res.statusCode}, [DONE] ${done}, usage ${completionTokens}`));
          else resolve({ text, completionTokens, firstTokenMs });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
