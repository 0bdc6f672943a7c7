/**
 * The real thing: `maas serve` in a child process on a real socket; the CLI against it; a client
 * that hangs up; SIGTERM draining.
 */
import { writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { linearModel, slowModel } from '../helpers/onnx-fixtures';
import { spawnServe } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

const KEY = 'lifecycle-admin-key-0123456789';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const startServer = (dataDir: string) =>
  spawnServe({ dataDir, adminKey: KEY, flags: ['--shutdown-grace-ms', '3000'] });

function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
    env: {},
    stdin: async () => stdin,
  };
  return main(args, io).then((code) => ({ code, out, err }));
}

/** Status of a GET on a fresh connection; 0 when nothing answers. */
function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

const slowBody = (rows: number) =>
  JSON.stringify({
    inputs: [
      { name: 'x', shape: [rows, 256, 256], datatype: 'FP32', data: new Array(rows * 65536).fill(0.5) },
    ],
  });

describe('maas serve in a child process', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: Awaited<ReturnType<typeof startServer>>;
  let client: string[];
  beforeAll(async () => {
    tmp = await tempDir();
    server = await startServer(join(tmp.dir, 'data'));
    client = ['--url', server.url, '--key', KEY];
    await writeFile(join(tmp.dir, 'lin.onnx'), linearModel(4, 3).bytes);
    await writeFile(join(tmp.dir, 'slow.onnx'), slowModel(600));
  });
  afterAll(async () => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await tmp.remove();
  });

  it('answers /readyz and the CLI pushes, lists, infers and removes with readable errors', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const push = await cli([
      'models',
      'push',
      'lin',
      join(tmp.dir, 'lin.onnx'),
      '--task',
      'regression',
      ...client,
    ]);
    expect(push.err).toBe('');
    expect(push.out).toMatch(/pushed lin version 1 \(sha256:[0-9a-f]{64}, \d+ bytes\)/);
    expect(push.out).toMatch(/input {2}x: float32 \[batch, 4\]/);
    expect((await cli(['models', 'ls', ...client])).out).toMatch(
      /^ID +OWNER +TASK +PUBLIC +UPDATED\nlin +default +regression +no +\d{4}-/,
    );
    const request = JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 0, 0, 0] }],
    });
    const inf = await cli(['infer', 'lin', ...client], request);
    expect(inf.code).toBe(0);
    expect(JSON.parse(inf.out).outputs[0]).toMatchObject({ name: 'y', shape: [1, 3] });
    const missing = await cli(['infer', 'nope', ...client], request);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^error: model 'nope' not found \(HTTP 404\)/);
    const badKey = await cli(['models', 'ls', '--url', server.url, '--key', 'wrong-key-wrong-key']);
    expect(badKey.err).toMatch(/unauthorized, HTTP 401/);
    expect((await cli(['models', 'rm', 'lin', ...client])).out).toBe('removed lin\n');
    const push2 = await cli([
      'models',
      'push',
      'slow',
      join(tmp.dir, 'slow.onnx'),
      '--max-batch-size',
      '1',
      ...client,
    ]);
    expect(push2.code, push2.err).toBe(0);
  });

  it('drops a queued request whose client hangs up', async () => {
    const warm = await fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers,
      body: slowBody(1),
    });
    expect(warm.status).toBe(200);
    // A long first run (8 rows) keeps the model busy while the second request queues and hangs up.
    const first = fetch(`${server.url}/v2/models/slow/infer`, { method: 'POST', headers, body: slowBody(8) });
    await sleep(150);
    const body = slowBody(1);
    const second = httpRequest(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    second.on('error', () => {});
    second.end(body);
    await sleep(100);
    second.destroy();
    expect((await first).status).toBe(200);
    await sleep(200);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers })).text();
    expect(metrics).toMatch(
      /maas_requests_dropped_total\{model="slow",reason="client_closed",version="1"\} 1/,
    );
    expect(metrics).toMatch(/maas_batch_size_count\{model="slow",version="1"\} 2\n/);
  });

  it('drains on SIGTERM: readiness 503, in-flight request finishes, clean exit', async () => {
    const exited = new Promise<number | null>((r) => server.child.on('exit', (code) => r(code)));
    const inflight = fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers,
      body: slowBody(2),
    });
    await sleep(100);
    server.child.kill('SIGTERM');
    // Fresh connections each time: poll readiness until the drain shows.
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 503; i++) {
      ready = await status(`${server.url}/readyz`);
      if (ready !== 503) await sleep(50);
    }
    expect(ready).toBe(503);
    const res = await inflight;
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { outputs: { shape: number[] }[] };
    expect(answer.outputs[0].shape).toEqual([2, 256, 256]);
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: draining/);
    expect(await status(`${server.url}/healthz`)).toBe(0);
  });
});
