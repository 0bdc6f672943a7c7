/**
 * Continuous batching of uploaded decoders (Llama layout with position_ids, GPT-2 layout without):
 * greedy output of a sequence does not change with its batch company, sequences join and leave
 * mid-stream, a disconnect frees its slot, waiting sequences are admitted round-robin across
 * tenants, and a chunked prefill gives the tokens of an unchunked one.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feedback } from '../../src/engine/index';
import type { Tensor } from '../../src/engine/runtime/tensor';
import { hfDecoder } from '../../src/models/hf/decoder';
import type { DecoderPlan } from '../../src/models/hf/plan';
import type { RunModel, RunOptions, SequenceOptions } from '../../src/models/task';
import type { TaskTarget } from '../../src/platform/tasks/service';
import { writeTinyGpt2Folder, writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { folderFiles, packFolder, uploadArchive } from './helpers';

const PROMPTS = [
  'Hello, world!',
  'The weather in the city is sunny and warm today.',
  'Grüße aus München',
  'a',
  'Once upon a time there was a small model that wanted to learn to speak.',
  'And the sea?',
  '你好，世界。',
  'What is the meaning of all of this, asked the tenant of the server?',
];

interface Outcome {
  text: string;
  tokens: number;
  finish: string;
}

async function generate(
  s: TestServer,
  target: TaskTarget,
  prompt: string,
  maxTokens = 10,
  options: { onDelta?: (n: number) => void; signal?: AbortSignal } = {},
): Promise<Outcome> {
  const job = await s.platform.tasks.generation(target, { prompt, maxTokens, temperature: 0 });
  let deltas = 0;
  const out = await job.run(() => options.onDelta?.(++deltas), options.signal);
  const c = out.choices[0];
  return { text: c.text, tokens: c.completionTokens, finish: c.finishReason };
}

/** The gauge's current value for one model and state, read from the exposition text. */
function sequences(s: TestServer, model: string, state: 'running' | 'waiting'): number {
  const line = s.platform.metrics.registry
    .render()
    .split('\n')
    .find((l) => l.startsWith('maas_llm_sequences{') && l.includes(`model="${model}"`) && l.includes(state));
  return line ? Number(line.split(' ').pop()) : 0;
}

function occupancy(s: TestServer, model: string): { count: number; sum: number } {
  return s.platform.metrics.batchOccupancy.snapshot({ model, version: '1' });
}

describe('continuous batching of an uploaded decoder', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    root = await tempDir('maas-batching-');
    const llama = await writeTinyLlamaFolder(join(root.dir, 'llama'));
    const gpt2 = await writeTinyGpt2Folder(join(root.dir, 'gpt2'));
    s = await testServer({ maxNumSeqs: 8, maxBatchedTokens: 16 });
    for (const [name, dir] of [
      ['llama', llama.dir],
      ['gpt2', gpt2.dir],
      ['fair', llama.dir],
    ] as const) {
      const up = await uploadArchive(s.app, name, await packFolder(await folderFiles(dir)));
      expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    }
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  for (const model of ['llama', 'gpt2']) {
    it(`${model}: the same prompts alone and in a batch of 8 give identical greedy tokens`, async () => {
      const target = { owner: 'default', model };
      const alone: Outcome[] = [];
      for (const p of PROMPTS) alone.push(await generate(s, target, p, 12));
      const before = occupancy(s, model);
      const together = await Promise.all(PROMPTS.map((p) => generate(s, target, p, 12)));
      expect(together).toEqual(alone);
      const after = occupancy(s, model);
      // Decode steps ran with company: more rows per step than one on average.
      expect(after.sum - before.sum).toBeGreaterThan(after.count - before.count);
      expect(sequences(s, model, 'running')).toBe(0);
    }, 120_000);
  }

  it('sequences join and leave mid-stream without changing each other’s tokens', async () => {
    const target = { owner: 'default', model: 'llama' };
    const lengths = [3, 14, 7, 12];
    const alone: Outcome[] = [];
    for (const [i, p] of PROMPTS.slice(0, 4).entries()) alone.push(await generate(s, target, p, lengths[i]));
    // The first two start together; the last two join once the first has streamed 4 tokens.
    let joined: Promise<Outcome[]> | null = null;
    const startLate = () => {
      joined ??= Promise.all([2, 3].map((i) => generate(s, target, PROMPTS[i], lengths[i])));
    };
    const early = await Promise.all([
      generate(s, target, PROMPTS[0], lengths[0]),
      generate(s, target, PROMPTS[1], lengths[1], { onDelta: (n) => n === 2 && startLate() }),
    ]);
    startLate();
    const late = await joined!;
    expect([...early, ...late]).toEqual(alone);
  }, 120_000);

  it('a disconnect frees its slot and the others finish with their own tokens', async () => {
    const target = { owner: 'default', model: 'gpt2' };
    const alone = [await generate(s, target, PROMPTS[1], 12), await generate(s, target, PROMPTS[4], 12)];
    const abort = new AbortController();
    let runningWhenAborted = -1;
    let runningAfter = -1;
    let dropped: Promise<string> | null = null;
    // The dropped stream starts once the kept ones stream, and hangs up after 3 tokens.
    const startDropped = () => {
      dropped ??= generate(s, target, PROMPTS[2], 40, {
        signal: abort.signal,
        onDelta: (n) => {
          if (n !== 3) return;
          runningWhenAborted = sequences(s, 'gpt2', 'running');
          abort.abort();
        },
      }).then(
        () => 'finished',
        (e: Error) => e.message,
      );
    };
    const kept = Promise.all([
      generate(s, target, PROMPTS[1], 12, { onDelta: (n) => n === 1 && startDropped() }),
      generate(s, target, PROMPTS[4], 12, {
        // Read after the hang-up reached the decoder: the row left at the next step.
        onDelta: (n) => {
          if (n === 10) runningAfter = sequences(s, 'gpt2', 'running');
        },
      }),
    ]);
    startDropped();
    expect(await dropped!).toMatch(/closed|cancel/);
    expect(await kept).toEqual(alone);
    expect(runningWhenAborted).toBe(3);
    expect(runningAfter).toBeLessThanOrEqual(2);
    expect(sequences(s, 'gpt2', 'running')).toBe(0);
  }, 120_000);

  it('waiting sequences are admitted round-robin across tenants, then first-in first-out', async () => {
    const patch = await s.app.inject({
      method: 'PATCH',
      url: '/api/v1/models/fair',
      headers: { authorization: 'Bearer test-admin-key-0123456789', 'content-type': 'application/json' },
      payload: { serving: { max_num_seqs: 1 } },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    const order: string[] = [];
    const until = async (n: number) => {
      while (sequences(s, 'fair', 'waiting') < n) await new Promise((r) => setTimeout(r, 2));
    };
    // A blocker (tenant z) holds the only slot, without stepping, until every waiter is queued.
    const version = await s.platform.registry.resolve('default', 'fair');
    const run: RunModel = Object.assign(
      async (): Promise<Record<string, Tensor>> => {
        throw new Error('the blocker only steps a sequence');
      },
      {
        sequence: (feedback: Feedback, options?: SequenceOptions) => {
          const q = s.platform.inference.sequence('default', 'fair', undefined, feedback, options);
          return {
            run: (inputs: Record<string, Tensor>, o?: RunOptions) => q.run({ inputs, outputs: o?.outputs }),
            close: () => q.close(),
            prefillChunk: () => q.prefillChunk(),
          };
        },
      },
    );
    const blocker = hfDecoder(run, version.metadata.decoder as DecoderPlan, 'z');
    await blocker.next([1, 2, 3], true);
    expect(sequences(s, 'fair', 'running')).toBe(1);
    const all: Promise<Outcome>[] = [];
    // Tenant a queues four, then tenant b one: b gets the second free slot, not the fifth.
    for (const [i, label] of ['a1', 'a2', 'a3', 'a4', 'b1'].entries()) {
      all.push(
        generate(s, { owner: 'default', model: 'fair', caller: label[0] }, PROMPTS[i], 3, {
          onDelta: (n) => n === 1 && order.push(label),
        }),
      );
      await until(i + 1);
    }
    blocker.close?.();
    await Promise.all(all);
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3', 'a4']);
  }, 120_000);

  it('a long prompt prefilled in chunks while another stream runs gives the unchunked tokens', async () => {
    const target = { owner: 'default', model: 'llama' };
    const long = PROMPTS.join(' ');
    const runs = () => s.platform.metrics.batchSize.snapshot({ model: 'llama', version: '1' }).count;
    // Unchunked reference: one prefill run for the whole prompt.
    const patch = (tokens: number) =>
      s.app.inject({
        method: 'PATCH',
        url: '/api/v1/models/llama',
        headers: { authorization: 'Bearer test-admin-key-0123456789', 'content-type': 'application/json' },
        payload: { serving: { max_batched_tokens: tokens } },
      });
    expect((await patch(4096)).statusCode).toBe(200);
    const whole = await generate(s, target, long, 8);
    const other = await generate(s, target, PROMPTS[1], 16);
    expect((await patch(16)).statusCode).toBe(200);
    const before = runs();
    let chunked: Promise<Outcome> | null = null;
    const running = generate(s, target, PROMPTS[1], 16, {
      onDelta: (n) => {
        if (n === 2) chunked ??= generate(s, target, long, 8);
      },
    });
    expect(await running).toEqual(other);
    expect(await chunked!).toEqual(whole);
    // The prompt went in several prefill runs of at most 16 tokens (and the short one in one).
    expect(runs() - before).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
