/**
 * LoRA fine-tuning of an uploaded decoder folder through the official `openai` client: a small
 * random-weight Llama-layout folder, a chat JSONL of three prompts with their replies (rendered by
 * the folder's ChatML template, loss on the assistant turns only), `fine_tuning.jobs.create` with
 * `model` = the folder and `lora_rank`/`lora_alpha`. The events report training and validation
 * loss, both falling; the job's `fine_tuned_model` is a new folder version (tokenizer kept) that
 * answers each training prompt with its trained reply at temperature 0 on /v1/chat/completions,
 * which the base model does not. The adapter alone (GET …/versions/1/adapter, PEFT's layout),
 * applied to the base by hand (W + alpha/r · (B·A)ᵀ), gives the merged version's logits.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { ADMIN_KEY, auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { applyAdapter, logitsOf, maxAbsDiff, readSafetensors, unpack } from './adapter';
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

let server: TestServer;
let client: OpenAI;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  server = await testServer();
  tmp = await tempDir();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
  const dir = join(tmp.dir, 'tiny');
  await writeRandomLlamaFolder(dir, {});
  const up = await uploadArchive(server.app, 'tiny', await packFolder(await folderFiles(dir)));
  expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await tmp?.remove();
});

const answer = async (model: string, question: string) =>
  (
    await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: question }],
      temperature: 0,
      max_tokens: 12,
    })
  ).choices[0].message.content;

it('trains adapters on the attention projections, merges them, and the new model answers as trained', async () => {
  const upload = async (lines: string[], name: string) =>
    client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), name), purpose: 'fine-tune' });
  const training = await upload(CHATS.map(chatLine), 'chats.jsonl');
  const validation = await upload([chatLine(CHATS[0])], 'held.jsonl');
  const before = await Promise.all(CHATS.map(([q]) => answer('tiny', q)));
  const job = await client.fineTuning.jobs.create({
    model: 'tiny',
    training_file: training.id,
    validation_file: validation.id,
    suffix: 'chat',
    seed: 1,
    hyperparameters: {
      n_epochs: 60,
      batch_size: 3,
      learning_rate_multiplier: 10,
      lora_rank: 8,
      lora_alpha: 16,
    } as OpenAI.FineTuning.JobCreateParams.Hyperparameters,
  });
  expect(job.model).toBe('tiny');
  expect(job.validation_file).toBe(validation.id);
  const deadline = Date.now() + 240_000;
  let done = job;
  while (!['succeeded', 'failed', 'cancelled'].includes(done.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    done = await client.fineTuning.jobs.retrieve(job.id);
  }
  expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  const name = done.fine_tuned_model!;
  expect(name).toMatch(/^ft-lora-chat-[0-9a-f]{8}$/);

  const events = (await client.fineTuning.jobs.listEvents(job.id, { limit: 1000 })).data.reverse();
  const epochs = events.filter(
    (e) => (e.data as { valid_loss?: number } | undefined)?.valid_loss !== undefined,
  );
  expect(epochs).toHaveLength(60);
  const first = epochs[0].data as { train_loss: number; valid_loss: number };
  const last = epochs.at(-1)!.data as { train_loss: number; valid_loss: number };
  expect(last.train_loss).toBeLessThan(first.train_loss / 5);
  expect(last.valid_loss).toBeLessThan(first.valid_loss / 5);
  expect(epochs.at(-1)!.message).toMatch(/^Epoch 60\/60: training loss=[0-9.]+, validation loss=[0-9.]+$/);

  const version = (
    await server.app.inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1`, headers: auth })
  ).json();
  expect(version.metadata.lineage.base).toBe('tiny:1');
  const files = (version.metadata.files as { path: string }[]).map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining(['tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']),
  );

  const after = await Promise.all(CHATS.map(([q]) => answer(name, q)));
  expect(after).toEqual(CHATS.map(([, a]) => a));
  expect(before).not.toEqual(after);

  // The adapter alone, in PEFT's layout, re-applied to the base: the merged version's logits.
  const res = await server.app.inject({ url: `/api/v1/models/${name}/versions/1/adapter`, headers: auth });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  expect(res.headers['content-type']).toBe('application/gzip');
  const adapter = await unpack(res.rawPayload, tmp.dir);
  expect([...adapter.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  const config = JSON.parse(new TextDecoder().decode(adapter.get('adapter_config.json')));
  expect(config).toMatchObject({
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: 8,
    lora_alpha: 16,
    base_model_name_or_path: 'tiny:1',
    target_modules: ['k_proj', 'o_proj', 'q_proj', 'v_proj'],
  });
  const tensors = readSafetensors(adapter.get('adapter_model.safetensors')!);
  expect(tensors.size).toBe(16);
  const q = 'base_model.model.model.layers.0.self_attn.q_proj';
  expect(tensors.get(`${q}.lora_A.weight`)!.shape[0]).toBe(8);
  expect(tensors.get(`${q}.lora_B.weight`)!.shape[1]).toBe(8);
  const base = new Uint8Array(await readFile(join(tmp.dir, 'tiny', 'onnx', 'model.onnx')));
  const record = await server.platform.registry.resolve('default', name);
  const merged = (await server.platform.registry.readFolderFile(record, 'onnx/model.onnx'))!;
  const ids = [5, 17, 42, 7, 99, 3];
  const [fromBase, fromAdapter, fromMerged] = await Promise.all(
    [base, applyAdapter(base, config, tensors), merged].map((g) => logitsOf(g, ids)),
  );
  expect(maxAbsDiff(fromAdapter, fromMerged)).toBeLessThan(1e-4);
  // ... and the adapter is what made the difference.
  expect(maxAbsDiff(fromBase, fromMerged)).toBeGreaterThan(1e-2);
  // The CLI writes the same two files.
  const out: string[] = [];
  const io = {
    out: (l: string) => out.push(l),
    err: (l: string) => out.push(l),
    env: {},
    stdin: async () => '',
  };
  const dir = join(tmp.dir, 'adapter-cli');
  const url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  const code = await main(['models', 'export', name, dir, '--adapter', '--url', url, '--key', ADMIN_KEY], io);
  expect(code, out.join('\n')).toBe(0);
  expect(out[0]).toBe(`exported the adapter of ${name} to ${dir}`);
  const written = await readFile(join(dir, 'adapter_model.safetensors'));
  expect(written.equals(Buffer.from(adapter.get('adapter_model.safetensors')!))).toBe(true);
  // A version that was not LoRA-tuned has no adapter: a 404 that says so.
  const none = await server.app.inject({ url: '/api/v1/models/tiny/versions/1/adapter', headers: auth });
  expect(none.statusCode).toBe(404);
  expect(none.json().detail).toMatch(/has no adapter: only versions LoRA-tuned by maas keep one/);
}, 300_000);
