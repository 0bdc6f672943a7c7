/**
 * Where a served call's time goes, without HTTP. Generation: generate-gpt's model (KV cache)
 * generating 56 tokens at a time; embeddings: embed-word2vec's model embedding one sentence; each
 * by the family's runtime over
 *   A. an EngineSession in this thread (the `runtime` row of generate-gpt),
 *   B. a ThreadedSession (the server's worker thread, no registry, no queue), every input and
 *      output crossing the thread boundary (the KV cache too, each token),
 *   B2. the same, with decoder state kept in the worker (the run's `sequence`: only the new token
 *      goes in and the logits come out),
 *   C. the platform's TaskService (runner resolved once per generation, runner queue, worker
 *      thread, sequences: what the server runs per token, minus HTTP and SSE),
 * interleaved A B B2 C for `--reps` rounds of `--calls` calls; prints ms medians per token / per call.
 *
 *   node --import tsx bench/tasks/probe.ts [--reps 5] [--calls 5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import '../../src/models/index';
import { EngineSession } from '../../src/engine/runtime/session';
import { runtimeFor } from '../../src/models/index';
import type { RunModel, TaskRuntime } from '../../src/models/task';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { median } from '../lib/stats';
import { generationSetup } from '../maas/generate';
import { type BenchModel, benchSentences, gptModel, mobyDick, word2vecModel } from './models';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A run over a worker-thread session whose sequences keep their state in that thread. */
function threadedRun(session: ThreadedSession): RunModel {
  let next = 1;
  const run: RunModel = (inputs, o) => session.run(inputs, o?.outputs);
  run.sequence = (feedback) => {
    const id = next++;
    return {
      run: (inputs, o) => session.run(inputs, o?.outputs, { id, feedback }),
      close: () => session.closeSequence(id),
    };
  };
  return run;
}

/** One model's four paths, timed interleaved; `call` runs one call on a runtime. */
async function probe(
  title: string,
  model: BenchModel,
  task: TaskRuntime['task'],
  call: (rt: TaskRuntime) => Promise<unknown>,
  unitsPerCall: number,
  o: { reps: number; calls: number },
): Promise<void> {
  const family = String(model.metadata.family);
  const factory = runtimeFor(family)!;
  const options = { intraOpThreads: 2, interOpThreads: 1 };
  const local = await EngineSession.create(model.onnx, options);
  const threaded = await ThreadedSession.create(model.onnx, options);
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-probe-'));
  const platform = await openPlatform(loadConfig({}, {}, { dataDir, logLevel: 'silent', port: 0 }));
  const paths: [string, TaskRuntime][] = [];
  try {
    await platform.registry.upload(DEFAULT_TENANT, family, Readable.from([Buffer.from(model.onnx)]), {
      task,
      metadata: model.metadata,
    });
    paths.push(
      [
        'A EngineSession, this thread',
        await factory({ run: (i, r) => local.run(i, r?.outputs), metadata: model.metadata }),
      ],
      [
        'B ThreadedSession (worker thread)',
        await factory({ run: (i, r) => threaded.run(i, r?.outputs), metadata: model.metadata }),
      ],
      [
        'B2 ThreadedSession, state kept in the worker',
        await factory({ run: threadedRun(threaded), metadata: model.metadata }),
      ],
      [
        'C TaskService (registry, runner, worker)',
        (await platform.tasks.runtime({ owner: DEFAULT_TENANT, model: family }, task)).runtime,
      ],
    );
    const per = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    for (let r = -1; r < o.reps; r++) {
      for (const [name, rt] of paths) {
        const t = performance.now();
        for (let c = 0; c < o.calls; c++) await call(rt);
        // Round -1 warms every path up (the TaskService loads its runner on first use).
        if (r >= 0) per.get(name)!.push((performance.now() - t) / (o.calls * unitsPerCall));
      }
    }
    console.log(title);
    for (const [name, ms] of per) {
      const m = median(ms);
      console.log(
        `  ${name}: ${m.toFixed(3)} ms (min ${Math.min(...ms).toFixed(3)}, max ${Math.max(...ms).toFixed(3)})`,
      );
    }
  } finally {
    await local.release();
    await threaded.release();
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = { reps: arg('reps', 5), calls: arg('calls', 5) };
  const gen = { cache: 1 };
  const { promptTokens, newTokens, tokenizer } = generationSetup(gen);
  const request = { prompt: tokenizer.decode(promptTokens), maxTokens: newTokens, temperature: 0 };
  await probe(
    `generation, ms per token (${newTokens} tokens per call)`,
    await gptModel(gen),
    'text-generation',
    (rt) => (rt as Extract<TaskRuntime, { task: 'text-generation' }>).generate(request),
    newTokens,
    o,
  );
  const [sentence] = benchSentences(await mobyDick(), 1);
  await probe(
    'embeddings, ms per call of 1 sentence',
    await word2vecModel({}),
    'embeddings',
    (rt) => (rt as Extract<TaskRuntime, { task: 'embeddings' }>).embed([sentence]),
    1,
    { reps: o.reps, calls: o.calls * 20 },
  );
}

await main();
