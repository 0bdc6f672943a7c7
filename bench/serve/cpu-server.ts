/**
 * One server for bench/serve/cpu-ab.ts: the platform and HTTP server of the checkout at
 * MAAS_ROOT (default: this one) in this process, the benchmark MLP uploaded, a tenant key minted
 * through the key service (the store-backed path a real client takes). Prints one JSON line
 * `{ port, key }` and runs until its stdin closes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mlpModel } from '../../test/helpers/onnx-fixtures';
import { KEY } from './harness';

const root = resolve(process.env.MAAS_ROOT ?? join(import.meta.dirname, '../..'));
const load = (path: string) => import(pathToFileURL(join(root, path)).href);

async function main(): Promise<void> {
  const { buildServer } = await load('src/api/server.ts');
  const { loadConfig } = await load('src/platform/config.ts');
  const { openPlatform } = await load('src/platform/platform.ts');
  const dir = await mkdtemp(join(tmpdir(), 'maas-cpu-ab-'));
  const config = loadConfig({}, {}, { dataDir: dir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off' });
  const platform = await openPlatform(config);
  const { app } = buildServer(platform);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address();
  const up = await fetch(`http://127.0.0.1:${port}/api/v1/models/mlp/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' },
    body: mlpModel(),
  });
  if (up.status !== 201) throw new Error(`upload: ${up.status}`);
  const admin = await platform.keys.resolve(KEY);
  const minted = await platform.tenancy.keys.mint(admin, { name: 'bench', scopes: ['infer'], limits: {} });
  process.stdout.write(`${JSON.stringify({ port, key: minted.key })}\n`);
  process.stdin.resume();
  await new Promise((done) => process.stdin.once('end', done));
  await app.close();
  await platform.close();
  await rm(dir, { recursive: true, force: true });
}

await main();
