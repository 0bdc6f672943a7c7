/**
 * Served generation side by side: one `maas serve` per checkout given (e.g. the commit before a
 * change, extracted with `git archive`, and this tree), each on its own data folder with
 * generate-gpt's KV-cache model, called in interleaved rounds of 10 streamed 56-token generations
 * over one keep-alive socket each; prints ms per generation (median, min, max) per checkout.
 *
 *   node --import tsx bench/tasks/served-ab.ts ROUNDS ROOT_A ROOT_B ...
 */
import '../../src/models/index';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { spawnServe } from '../../test/helpers/serve';
import { median } from '../lib/stats';
import { generationSetup } from '../maas/generate';
import { KEY } from '../serve/harness';
import { gptModel } from './models';
import { BenchClient, SERVED_MODEL, streamCompletion } from './served';

const roots = process.argv.slice(3);
const rounds = Number(process.argv[2] ?? 10);
const gen = { cache: 1 };
const { promptTokens, newTokens, tokenizer } = generationSetup(gen);
const model = await gptModel(gen);
async function start(root: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-ab-'));
  const platform = await openPlatform(
    loadConfig({}, {}, { dataDir, adminKey: KEY, logLevel: 'silent', port: 0 }),
  );
  await platform.registry.upload(DEFAULT_TENANT, SERVED_MODEL, Readable.from([Buffer.from(model.onnx)]), {
    task: 'text-generation',
    metadata: model.metadata,
  });
  await platform.close();
  const server = await spawnServe({ root, dataDir, adminKey: KEY, zoo: 'off' });
  return { root, dataDir, server, client: new BenchClient(server.url), ms: [] as number[] };
}
const servers = [];
for (const r of roots) servers.push(await start(r));
const payload = {
  model: SERVED_MODEL,
  prompt: tokenizer.decode(promptTokens),
  max_tokens: newTokens,
  temperature: 0,
};
const texts = new Set<string>();
for (const s of servers)
  for (let i = 0; i < 5; i++) texts.add((await streamCompletion(s.client, payload)).text);
for (let r = 0; r < rounds; r++) {
  for (const s of servers) {
    const t = performance.now();
    for (let i = 0; i < 10; i++) await streamCompletion(s.client, payload);
    s.ms.push((performance.now() - t) / 10);
  }
}
for (const s of servers)
  console.log(
    `${s.root}: median ${median(s.ms).toFixed(2)} ms/gen = ${((newTokens * 1000) / median(s.ms)).toFixed(0)} tokens/s (min ${Math.min(...s.ms).toFixed(1)}, max ${Math.max(...s.ms).toFixed(1)})`,
  );
console.log(`same text on every server: ${texts.size === 1}`);
for (const s of servers) {
  s.client.close();
  await s.server.stop();
  await rm(s.dataDir, { recursive: true, force: true });
}
