/**
 * LoRA beyond an uploaded folder with inline weights, through the official `openai` client:
 *
 * - a folder whose weights live in external data (`onnx/model.onnx_data`): trained, and a run whose
 *   trainer is killed (SIGKILL, as the OOM killer would) after a mid-run checkpoint resumes from it
 *   and ends with the very adapter of an uninterrupted run;
 * - maas's own gpt (a random-weight gpt version with a byte-level BPE, no chat template) as the
 *   base, learning `{"prompt", "completion"}` lines, then completing the prompts as trained on
 *   /v1/completions at temperature 0; another tenant calls it as `owner~name` once it is public.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainBpe } from '../../src/data/text/bpe';
import { randomGpt } from '../../src/models/language/hf/gpt2';
import { TOKENIZER_TEXT, writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { exportGpt } from '../../src/nn/gpt';
import { ADMIN_KEY, auth, type TestServer, testServer, upload } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { bearer, mintKey } from '../tenancy/platform-fixture';
import { pollUntil } from '../training/helpers';
import { readSafetensors, unpack } from './adapter';
import { folderFiles, packFolder, uploadArchive } from './helpers';

const CHATS = [
  ['What is the capital of France?', 'Paris.'],
  ['Say hello.', 'Hello, world!'],
  ['Count to three.', '1 2 3'],
] as const;

const chatLine = ([q, a]: readonly [string, string]) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: q },
      { role: 'assistant', content: a },
    ],
  });

let s: TestServer;
let client: OpenAI;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  // One retry, after a short wait: the crash test kills the first trainer once.
  s = await testServer({ trainMaxRetries: 1, trainRetryBackoffMs: 40, trainThreads: 1 });
  tmp = await tempDir();
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = s.app.server.address() as AddressInfo;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await tmp?.remove();
});

const uploadLines = async (lines: string[], name: string) =>
  client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), name), purpose: 'fine-tune' });

async function finished(id: string, ms = 240_000) {
  const deadline = Date.now() + ms;
  let job = await client.fineTuning.jobs.retrieve(id);
  while (!['succeeded', 'failed', 'cancelled'].includes(job.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    job = await client.fineTuning.jobs.retrieve(id);
  }
  return job;
}

async function adapterOf(model: string) {
  const res = await s.app.inject({ url: `/api/v1/models/${model}/versions/1/adapter`, headers: auth });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  const files = await unpack(res.rawPayload, tmp.dir);
  return readSafetensors(files.get('adapter_model.safetensors')!);
}

describe('a folder with external data', () => {
  const hyperparameters = {
    n_epochs: 12,
    batch_size: 1,
    learning_rate_multiplier: 10,
    lora_rank: 4,
    lora_alpha: 8,
    checkpoint_every: 5,
  } as OpenAI.FineTuning.JobCreateParams.Hyperparameters;

  beforeAll(async () => {
    const dir = join(tmp.dir, 'ext');
    const folder = await writeRandomLlamaFolder(dir, { externalData: true });
    expect(folder.onnxData?.length).toBeGreaterThan(0);
    const files = await folderFiles(dir);
    expect(files.map(([p]) => p)).toContain('onnx/model.onnx_data');
    const up = await uploadArchive(s.app, 'ext', await packFolder(files));
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
  }, 60_000);

  it('trains; a trainer killed after a checkpoint resumes from it and ends with the same adapter', async () => {
    const training = await uploadLines(CHATS.map(chatLine), 'chats.jsonl');
    const create = () =>
      client.fineTuning.jobs.create({ model: 'ext', training_file: training.id, seed: 2, hyperparameters });

    const whole = await finished((await create()).id);
    expect(whole.status, JSON.stringify(whole.error)).toBe('succeeded');

    const crashed = await create();
    const trainingId = `trn_${crashed.id.slice('ftjob-'.length)}`;
    const events = async () =>
      (await s.app.inject({ url: `/api/v1/trainings/${trainingId}/events`, headers: auth })).json()
        .events as { type: string; data: Record<string, unknown> }[];
    // 36 steps; checkpoints every 5 and at each epoch end (every 3): wait for one past step 10.
    await pollUntil(
      async () => (await events()).find((e) => e.type === 'checkpoint' && Number(e.data.step) >= 10),
      120_000,
    );
    const pid = s.platform.trainings.trainerPid(trainingId);
    expect(pid).not.toBeNull();
    process.kill(pid!, 'SIGKILL');
    const done = await finished(crashed.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const all = await events();
    const resumed = all.find((e) => e.type === 'resumed');
    expect(resumed, JSON.stringify(all.map((e) => e.type))).toBeDefined();
    expect(Number(resumed!.data.step)).toBeGreaterThanOrEqual(10);
    expect(Number(resumed!.data.step)).toBeLessThan(36);

    // The resumed run went on as if never stopped: the same adapter as the uninterrupted one.
    const a = await adapterOf(whole.fine_tuned_model!);
    const b = await adapterOf(done.fine_tuned_model!);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) {
      const u = b.get(name)!;
      const diff = t.data.reduce((m, v, i) => Math.max(m, Math.abs(v - u.data[i])), 0);
      expect(diff, name).toBeLessThan(1e-6);
    }
    // B starts at zero: a trained adapter is not.
    const bs = [...a].filter(([k]) => k.endsWith('lora_B.weight'));
    expect(bs.some(([, t]) => t.data.some((v) => Math.abs(v) > 1e-4))).toBe(true);
  }, 400_000);
});

describe("maas's gpt as the base", () => {
  const PAIRS = [
    ['The capital of France is', ' Paris.'],
    ['Hello', ', world!'],
  ] as const;

  beforeAll(async () => {
    const bpe = trainBpe(TOKENIZER_TEXT, { vocabSize: 330 });
    const shape = { context: 64, layers: 2, dim: 32, heads: 4 };
    const metadata = {
      family: 'gpt',
      task: 'text-generation',
      tokenizer: bpe,
      ...shape,
      headDim: shape.dim / shape.heads,
      kvCache: true,
      startText: '\n',
    };
    const model = randomGpt({ vocab: 330, ...shape, seed: 3, initStd: 0.25 });
    const q = `?task=text-generation&metadata=${encodeURIComponent(JSON.stringify(metadata))}`;
    expect((await upload(s.app, 'gpt', exportGpt(model, { kvCache: true }), q)).statusCode).toBe(201);
  }, 60_000);

  const complete = async (model: string, prompt: string) =>
    (await client.completions.create({ model, prompt, temperature: 0, max_tokens: 8 })).choices[0];

  it('learns prompt/completion lines; the result completes them as trained and stops at <|endoftext|>', async () => {
    const training = await uploadLines(
      PAIRS.map(([prompt, completion]) => JSON.stringify({ prompt, completion })),
      'pairs.jsonl',
    );
    const before = await Promise.all(PAIRS.map(([p]) => complete('gpt', p)));
    const job = await client.fineTuning.jobs.create({
      model: 'gpt',
      training_file: training.id,
      suffix: 'gpt',
      seed: 1,
      hyperparameters: {
        n_epochs: 60,
        batch_size: 2,
        learning_rate_multiplier: 10,
        lora_rank: 8,
        lora_alpha: 16,
      } as OpenAI.FineTuning.JobCreateParams.Hyperparameters,
    });
    const done = await finished(job.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const name = done.fine_tuned_model!;
    const version = (await s.app.inject({ url: `/api/v1/models/${name}/versions/1`, headers: auth })).json();
    expect(version.metadata).toMatchObject({ family: 'hf-decoder', lineage: { base: 'gpt:1' } });
    const after = await Promise.all(PAIRS.map(([p]) => complete(name, p)));
    expect(after.map((c) => c.text)).toEqual(PAIRS.map(([, c]) => c));
    expect(after.map((c) => c.finish_reason)).toEqual(['stop', 'stop']);
    expect(before.map((c) => c.text)).not.toEqual(after.map((c) => c.text));
    // The attention projections (maas names them qkv, proj) are what was adapted.
    const adapter = await adapterOf(name);
    expect([...adapter.keys()].some((k) => /attn\.qkv\.lora_A\.weight$/.test(k))).toBe(true);
  }, 300_000);

  it('a chat file on a model without a chat template fails with a reason', async () => {
    const training = await uploadLines([chatLine(CHATS[0])], 'chat.jsonl');
    const job = await client.fineTuning.jobs.create({ model: 'gpt', training_file: training.id });
    const done = await finished(job.id);
    expect(done.status).toBe('failed');
    expect(done.error?.message).toMatch(/no chat template .* give \{"prompt", "completion"\} lines/);
  }, 120_000);

  it("another tenant names it owner~name once it is public (the zoo's zoo~gpt is such a model)", async () => {
    const t = await s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name: 'other' },
    });
    expect(t.statusCode, t.body).toBe(201);
    const key = (await mintKey(s, { tenant: 'other', name: 'tuner', scopes: ['infer', 'manage'] })).key;
    const other = new OpenAI({ baseURL: client.baseURL, apiKey: key, maxRetries: 0 });
    const file = await other.files.create({
      file: await toFile(Buffer.from(JSON.stringify({ prompt: 'Hi', completion: ' there' })), 'p.jsonl'),
      purpose: 'fine-tune',
    });
    const create = () => other.fineTuning.jobs.create({ model: 'default~gpt', training_file: file.id });
    // Private: it reads as not there.
    await expect(create()).rejects.toMatchObject({ status: 400 });
    const pub = await s.app.inject({
      method: 'PATCH',
      url: '/api/v1/models/gpt',
      headers: auth,
      payload: { public: true },
    });
    expect(pub.statusCode, pub.body).toBe(200);
    const job = await create();
    expect(job.model).toBe('default~gpt');
    const training = (
      await s.app.inject({ url: `/api/v1/trainings/trn_${job.id.slice(6)}`, headers: bearer(key) })
    ).json();
    expect(training.hyperparameters.base).toBe('default~gpt:1');
    await other.fineTuning.jobs.cancel(job.id);
  }, 60_000);
});
