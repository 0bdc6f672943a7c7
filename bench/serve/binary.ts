/**
 * KServe v2 binary tensors vs JSON for one 1×3×224×224 float32 input (150,528 values, an image).
 * Two measurements, JSON and binary interleaved round by round (medians over ROUNDS):
 * - in-process, no HTTP: the server's parse of the request body (body bytes → validated tensors,
 *   `parseTensorBody` + `parseInferBody`) and its reply encoding (an output tensor of the same
 *   size → the bytes sent);
 * - end to end over a real socket: an identity model served by an in-process server (flat input
 *   of 150,528 values), one request at a time, the output coming back in the request's format.
 *
 *   node --import tsx bench/serve/binary.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseInferBody } from '../../src/api/kserve';
import { buildServer } from '../../src/api/server';
import { binaryAnswer, parseTensorBody, tensorBytes } from '../../src/api/v2-binary';
import { encodeV2Output } from '../../src/api/v2-tensors';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { identityModel } from '../../test/helpers/onnx-fixtures';
import { KEY, median } from './harness';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const PER_ROUND = Number(process.env.PER_ROUND ?? 10);
const COUNT = 3 * 224 * 224;
const values = Float32Array.from({ length: COUNT }, (_, i) => Math.sin(i) * 0.5);

function bodies(shape: number[]) {
  const json = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', shape, datatype: 'FP32', data: [...values] }] }),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape, datatype: 'FP32', parameters: { binary_data_size: COUNT * 4 } }],
      parameters: { binary_data_output: true },
    }),
  );
  const binary = Buffer.concat([header, Buffer.from(values.buffer)]);
  return { json, binary, headerLength: header.length };
}

const timeIt = (n: number, f: () => unknown): number => {
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t) / n;
};

function inProcess() {
  const { json, binary, headerLength } = bodies([1, 3, 224, 224]);
  const jsonHeaders = { 'content-type': 'application/json' };
  const binHeaders = { 'inference-header-content-length': String(headerLength) };
  const out = tensorFrom('float32', [1, 3, 224, 224], values);
  const header = { model_name: 'm', model_version: '1' };
  const rows: Record<string, number[]> = { parseJson: [], parseBinary: [], replyJson: [], replyBinary: [] };
  for (let r = 0; r < ROUNDS + 1; r++) {
    const round = {
      parseJson: timeIt(PER_ROUND, () => parseInferBody(parseTensorBody(jsonHeaders, json, 64))),
      parseBinary: timeIt(PER_ROUND, () => parseInferBody(parseTensorBody(binHeaders, binary, 64))),
      replyJson: timeIt(PER_ROUND, () =>
        Buffer.from(JSON.stringify({ ...header, outputs: [encodeV2Output('y', out)] })),
      ),
      replyBinary: timeIt(PER_ROUND, () =>
        binaryAnswer(
          {
            ...header,
            outputs: [
              {
                name: 'y',
                datatype: 'FP32',
                shape: [1, 3, 224, 224],
                parameters: { binary_data_size: COUNT * 4 },
              },
            ],
          },
          [tensorBytes(out)],
        ),
      ),
    };
    if (r === 0) continue; // warm-up
    for (const [k, v] of Object.entries(round)) rows[k].push(v);
  }
  return Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
}

async function overHttp() {
  const dir = await mkdtemp(join(tmpdir(), 'maas-binary-'));
  const config = loadConfig({}, {}, { dataDir: dir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off' });
  const platform = await openPlatform(config);
  const { app } = buildServer(platform);
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    const base = `http://127.0.0.1:${addr.port}`;
    const auth = { authorization: `Bearer ${KEY}` };
    const up = await fetch(`${base}/api/v1/models/id/versions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: identityModel('float32'),
    });
    if (up.status !== 201) throw new Error(`upload ${up.status}`);
    const { json, binary, headerLength } = bodies([COUNT]);
    const call = async (body: Buffer, headers: Record<string, string>) => {
      const t = performance.now();
      const res = await fetch(`${base}/v2/models/id/infer`, {
        method: 'POST',
        headers: { ...auth, ...headers },
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`infer ${res.status}`);
      return performance.now() - t;
    };
    const rows = { json: [] as number[], binary: [] as number[] };
    for (let r = 0; r < ROUNDS + 1; r++) {
      const j: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < PER_ROUND; i++) {
        j.push(await call(json, { 'content-type': 'application/json' }));
        b.push(await call(binary, { 'inference-header-content-length': String(headerLength) }));
      }
      if (r === 0) continue;
      rows.json.push(median(j));
      rows.binary.push(median(b));
    }
    return {
      json: median(rows.json),
      binary: median(rows.binary),
      jsonBytes: json.length,
      binaryBytes: binary.length,
    };
  } finally {
    await app.close();
    await platform.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0];
const local = inProcess();
const http = await overHttp();
const loadAfter = loadavg()[0];
const f = (ms: number) => ms.toFixed(2);
process.stdout.write(
  [
    `1x3x224x224 FP32, ${ROUNDS} rounds x ${PER_ROUND}, load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}`,
    '| step | JSON ms | binary ms | JSON / binary |',
    '|---|---|---|---|',
    `| parse the request body into a tensor (in-process) | ${f(local.parseJson)} | ${f(local.parseBinary)} | ${(local.parseJson / local.parseBinary).toFixed(0)}x |`,
    `| encode the reply (in-process) | ${f(local.replyJson)} | ${f(local.replyBinary)} | ${(local.replyJson / local.replyBinary).toFixed(0)}x |`,
    `| whole request over HTTP, identity model (p50) | ${f(http.json)} | ${f(http.binary)} | ${(http.json / http.binary).toFixed(1)}x |`,
    `| request body bytes | ${http.jsonBytes} | ${http.binaryBytes} | ${(http.jsonBytes / http.binaryBytes).toFixed(1)}x |`,
    '',
  ].join('\n'),
);
