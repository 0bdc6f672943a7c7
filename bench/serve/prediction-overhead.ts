/**
 * Prediction create-to-done overhead: the same tensor request to `examples/linear.onnx`, sent
 * one at a time N times as the synchronous `POST /v2/models/linear/infer` and as
 * `POST /api/v1/predictions` with `Prefer: wait` (create, queue, run through the same handler,
 * rows written at each step, answer). Prints the median and p90 of each (ms), the difference,
 * and the load average. Run: `npx tsx bench/serve/prediction-overhead.ts [N]` (default 200).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/api/serve';
import { loadConfig } from '../../src/platform/config';

const N = Number(process.argv[2] ?? 200);
const KEY = 'bench-admin-key-0123456789';
const root = join(import.meta.dirname, '../..');

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'maas-bench-pred-'));
  const server = await startServer(
    loadConfig(
      {},
      {},
      { dataDir: dir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off', shutdownGraceMs: 0 },
    ),
    () => {},
  );
  const auth = { authorization: `Bearer ${KEY}` };
  try {
    const up = await fetch(`${server.url}/api/v1/models/linear/versions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: await readFile(join(root, 'examples/linear.onnx')),
    });
    if (up.status !== 201) throw new Error(`upload: ${up.status}`);
    const input = JSON.parse(await readFile(join(root, 'examples/linear-request.json'), 'utf8'));
    const json = { ...auth, 'content-type': 'application/json' };
    const sync = () =>
      fetch(`${server.url}/v2/models/linear/infer`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify(input),
      });
    const prediction = () =>
      fetch(`${server.url}/api/v1/predictions`, {
        method: 'POST',
        headers: { ...json, prefer: 'wait' },
        body: JSON.stringify({ model: 'linear', input }),
      });
    const time = async (call: () => Promise<Response>) => {
      const ms: number[] = [];
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        const res = await call();
        const body = (await res.json()) as { status?: string };
        if (!res.ok || (body.status !== undefined && body.status !== 'succeeded'))
          throw new Error(JSON.stringify(body));
        ms.push(performance.now() - t);
      }
      return ms;
    };
    await time(sync);
    await time(prediction);
    const load = loadavg()[0].toFixed(2);
    // Interleaved halves, so drift in the machine's load hits both alike.
    const a = [...(await time(sync)), ...(await time(sync))];
    const b = [...(await time(prediction)), ...(await time(prediction))];
    const row = (name: string, xs: number[]) =>
      `${name.padEnd(34)} median ${quantile(xs, 0.5).toFixed(2)} ms  p90 ${quantile(xs, 0.9).toFixed(2)} ms`;
    console.log(row('sync POST /v2/models/linear/infer', a));
    console.log(row('prediction, Prefer: wait', b));
    console.log(
      `overhead: median +${(quantile(b, 0.5) - quantile(a, 0.5)).toFixed(2)} ms; load average ${load} → ${loadavg()[0].toFixed(2)} (2 cores shared with other work)`,
    );
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
