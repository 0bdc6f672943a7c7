/**
 * API fuzzing in CI (docs/security.md, "Fuzzing"): every operation of the server's /openapi.json
 * with wrong types, missing and extra fields, huge and deep bodies, odd encodings and content
 * types, against a real `maas serve`: never a 5xx, never a stack trace, path or key in a body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, spawnServe } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';
import { vowelModel } from '../tasks/fixtures/models';
import { runApiFuzz } from './api-fuzz';

const SEED = Number(process.env.MAAS_FUZZ_SEED ?? 20261202);
const KEY = 'fuzz-admin-key-0123456789';

describe('API fuzzing from /openapi.json against a real server', () => {
  let server: ServeProcess;
  let tmp: { dir: string; remove: () => Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir();
    server = await spawnServe({ dataDir: tmp.dir, adminKey: KEY });
    const up = await fetch(`${server.url}/api/v1/models/fz-model/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' },
      body: vowelModel().onnx,
    });
    expect(up.status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await tmp?.remove();
  });

  it(`every operation, hostile requests (seed ${SEED}): no 5xx, nothing leaked`, async () => {
    const report = await runApiFuzz({ url: server.url, key: KEY, seed: SEED, rounds: 1 });
    console.log(`api fuzz: ${JSON.stringify({ ...report, findings: report.findings.length })}`);
    expect(report.findings).toEqual([]);
    expect(report.operations).toBeGreaterThan(60);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  }, 300_000);
});
