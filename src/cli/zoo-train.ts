/**
 * Train zoo models and print their quality.
 *
 *   node --import tsx src/cli/zoo-train.ts --only gpt,lstm-lm,word2vec --out DIR [--quick] [--seed N]
 *
 * Writes DIR/<name>.onnx and DIR/<name>.json (family, seed, metadata, quality, train seconds),
 * logs progress, then prints one quality table. Text models also print a sample through their
 * runtime (the same code path the API serves), so the exported ONNX is exercised end to end.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineSession } from '../engine/index';
import '../models/language/index';
import { runtimeFor } from '../models/runtimes';
import type { TaskRuntime } from '../models/task';
import { meetsTarget, type ZooArtifact, zooEntries, zooEntry, zooUnavailable } from '../models/zoo/index';

interface Trained {
  name: string;
  family: string;
  artifact: ZooArtifact;
  seconds: number;
}

async function runtimeOf(t: Trained): Promise<{ runtime: TaskRuntime; release: () => Promise<void> }> {
  const session = await EngineSession.create(t.artifact.onnx);
  const factory = runtimeFor(t.family);
  if (!factory) throw new Error(`no runtime registered for ${t.family}`);
  const runtime = await factory({
    run: (inputs, o) => session.run(inputs, o?.outputs),
    metadata: t.artifact.metadata,
  });
  return { runtime, release: () => session.release() };
}

async function sample(t: Trained): Promise<string> {
  const { runtime, release } = await runtimeOf(t);
  try {
    if (runtime.task !== 'text-generation') return '';
    const r = await runtime.generate({
      prompt: 'The whale',
      maxTokens: 120,
      temperature: 0.7,
      topK: 20,
      seed: 1,
    });
    return `The whale${r.text}`;
  } finally {
    await release();
  }
}

function table(rows: Trained[]): string {
  const lines = ['| model | metric | value | target | ok | train s |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const q = r.artifact.quality;
    const target = q.target === undefined ? '—' : `${q.higherIsBetter ? '≥' : '<'} ${q.target.toFixed(3)}`;
    lines.push(
      `| ${r.name} | ${q.metric} | ${q.value.toFixed(3)} | ${target} | ${meetsTarget(q) ? 'yes' : 'NO'} | ${r.seconds.toFixed(0)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      out: { type: 'string', default: 'zoo-out' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
    },
  });
  const entries = values.only ? values.only.split(',').map((n) => zooEntry(n.trim())) : zooEntries();
  await mkdir(values.out, { recursive: true });
  const done: Trained[] = [];
  for (const e of entries) {
    const why = zooUnavailable(e);
    if (why) {
      console.log(`== ${e.name}: skipped, ${why}`);
      continue;
    }
    const seed = values.seed === undefined ? e.seed : Number(values.seed);
    console.log(`== ${e.name} (${e.family}, seed ${seed}): ${e.description}`);
    const t0 = performance.now();
    const artifact = await e.train({
      seed,
      scale: values.quick ? 'quick' : 'full',
      log: (l) => console.log(`  ${l}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    const t: Trained = { name: e.name, family: e.family, artifact, seconds };
    done.push(t);
    await writeFile(join(values.out, `${e.name}.onnx`), artifact.onnx);
    const record = {
      name: e.name,
      family: e.family,
      seed,
      seconds,
      quality: artifact.quality,
      metadata: artifact.metadata,
    };
    await writeFile(join(values.out, `${e.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
    console.log(
      `  ${artifact.quality.metric} = ${artifact.quality.value.toFixed(4)} (${seconds.toFixed(0)} s)`,
    );
    const details = artifact.quality.details ?? {};
    if ('neighbours' in details)
      for (const [w, n] of Object.entries(details.neighbours as object))
        console.log(`  ${w.padEnd(8)} → ${(n as string[]).join(', ')}`);
    if (artifact.metadata.task === 'text-generation')
      console.log(`  sample: ${JSON.stringify(await sample(t))}`);
  }
  console.log(`\n${table(done)}`);
  const bits = (name: string) => done.find((d) => d.name === name)?.artifact.quality;
  const gpt = bits('gpt');
  const lstm = bits('lstm-lm');
  if (gpt && lstm) {
    const unigram = (gpt.details?.unigramBitsPerChar as number) ?? Number.NaN;
    console.log(
      `\nbits/char on the held-out 10%: gpt ${gpt.value.toFixed(3)}, lstm-lm ${lstm.value.toFixed(3)}, unigram ${unigram.toFixed(3)}` +
        ` → gpt ${gpt.value < lstm.value && gpt.value < unigram ? 'is below both' : 'is NOT below both'}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
