/**
 * Where a served generation's time goes, without HTTP: generate-gpt's model (KV cache) generated
 * 56 tokens at a time by the `gpt` runtime over
 *   A. an EngineSession in this thread (the `runtime` row of generate-gpt),
 *   B. a ThreadedSession (the server's worker thread, no registry, no queue),
 *   C. the platform's TaskService (registry lookups, runner queue, worker thread: what the server
 *      runs per token, minus HTTP and SSE),
 * interleaved A B C for `--reps` rounds of `--calls` generations; prints per-token ms medians.
 *
 *   node --import tsx bench/tasks/probe-generation.ts [--reps 5] [--calls 5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import '../../src/models/index';
import { EngineSession } from '../../src/engine/runtime/session';
import { runtimeFor } from '../../src/models/index';
import type { TextGenerationRuntime } from '../../src/models/task';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { median } from '../lib/stats';
import { generationSetup } from '../maas/generate';
import { gptModel } from './models';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const reps = arg('reps', 5);
  const calls = arg('calls', 5);
  const args = { cache: 1 };
  const model = await gptModel(args);
  const { promptTokens, newTokens, tokenizer } = generationSetup(args);
  const request = { prompt: tokenizer.decode(promptTokens), maxTokens: newTokens, temperature: 0 };
  const factory = runtimeFor('gpt')!;
  const options = { intraOpThreads: 2, interOpThreads: 1 };

  const local = await EngineSession.create(model.onnx, options);
  const threaded = await ThreadedSession.create(model.onnx, options);
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-probe-'));
  const platform = await openPlatform(loadConfig({}, {}, { dataDir, logLevel: 'silent', port: 0 }));
  await platform.registry.upload(DEFAULT_TENANT, 'gpt', Readable.from([Buffer.from(model.onnx)]), {
    task: 'text-generation',
    metadata: model.metadata,
  });
  const paths: [string, TextGenerationRuntime][] = [
    [
      'A EngineSession, this thread',
      (await factory({
        run: (i, o) => local.run(i, o?.outputs),
        metadata: model.metadata,
      })) as TextGenerationRuntime,
    ],
    [
      'B ThreadedSession (worker thread)',
      (await factory({
        run: (i, o) => threaded.run(i, o?.outputs),
        metadata: model.metadata,
      })) as TextGenerationRuntime,
    ],
    [
      'C TaskService (registry, runner, worker)',
      (await platform.tasks.runtime({ owner: DEFAULT_TENANT, model: 'gpt' }, 'text-generation')).runtime,
    ],
  ];
  const perToken = new Map<string, number[]>(paths.map(([name]) => [name, []]));
  try {
    for (let r = -1; r < reps; r++) {
      for (const [name, rt] of paths) {
        const t = performance.now();
        for (let c = 0; c < calls; c++) await rt.generate(request);
        // Round -1 warms every path up (the TaskService loads its runner on first use).
        if (r >= 0) perToken.get(name)!.push((performance.now() - t) / (calls * newTokens));
      }
    }
  } finally {
    await local.release();
    await threaded.release();
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  for (const [name, ms] of perToken) {
    const m = median(ms);
    console.log(
      `${name}: ${m.toFixed(3)} ms/token (min ${Math.min(...ms).toFixed(3)}, max ${Math.max(...ms).toFixed(3)}), ${(1000 / m).toFixed(0)} tokens/s`,
    );
  }
}

await main();
