/**
 * OpenAI's files and fine-tuning API with the official `openai` client, over a real socket, onto
 * real maas datasets and trainings (child-process trainer, real ONNX Runtime): upload OpenAI's
 * chat JSONL, fine-tune a text classifier in a few seconds, read its events, ask the model.
 */
import { readdir } from 'node:fs/promises';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type TestServer, testServer } from '../helpers/server';
import { lineCsv } from '../training/helpers';

const GOOD = ['sunny', 'warm', 'bright', 'clear', 'mild', 'calm'];
const BAD = ['rain', 'storm', 'cold', 'hail', 'gale', 'sleet'];
const FILLER = ['today', 'the', 'sky', 'is', 'very', 'so', 'and', 'outside', 'morning', 'here'];

/** Seeded sentences: two filler words around one weather word; the label is the word's class. */
function weatherExamples(n: number, seed: number): { text: string; label: string }[] {
  let s = seed;
  const pick = <T>(xs: T[]) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return xs[s % xs.length];
  };
  return Array.from({ length: n }, (_, i) => {
    const good = i % 2 === 0;
    const text = `${pick(FILLER)} ${pick(good ? GOOD : BAD)} ${pick(FILLER)} ${pick(FILLER)}`;
    return { text, label: good ? 'good' : 'bad' };
  });
}

/** OpenAI's chat fine-tuning format, with a system prompt like a real file has. */
function chatJsonl(n: number, seed = 1): string {
  const system = { role: 'system', content: 'Is this weather good or bad?' };
  return weatherExamples(n, seed)
    .map(({ text, label }) =>
      JSON.stringify({
        messages: [system, { role: 'user', content: text }, { role: 'assistant', content: label }],
      }),
    )
    .join('\n');
}

let server: TestServer;
let client: OpenAI;
let base: string;

beforeAll(async () => {
  server = await testServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.app.server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: ADMIN_KEY, maxRetries: 0 });
});
afterAll(() => server?.close());

const upload = async (body: string, filename: string) =>
  client.files.create({ file: await toFile(Buffer.from(body), filename), purpose: 'fine-tune' });

async function until(id: string, done: (j: OpenAI.FineTuning.FineTuningJob) => boolean, ms = 100_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('/v1/files with the official client', () => {
  it('create, retrieve, list, content and delete; OpenAI chat, prompt/completion and CSV files', async () => {
    const chat = chatJsonl(30);
    const file = await upload(chat, 'weather.jsonl');
    expect(file).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(chat),
      filename: 'weather.jsonl',
      purpose: 'fine-tune',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-[0-9a-f]{24}$/);
    expect(Math.abs(file.created_at - Date.now() / 1000)).toBeLessThan(60);
    expect(await client.files.retrieve(file.id)).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(chat);

    const legacy = await upload(
      weatherExamples(4, 2)
        .map(({ text, label }) => JSON.stringify({ prompt: `${text} ->`, completion: ` ${label}` }))
        .join('\n'),
      'legacy.jsonl',
    );
    const csv = await upload(lineCsv(20), 'points.csv');
    // The files are datasets: the native API describes them (the chat file as text + label).
    const described = await fetch(`${base}/api/v1/datasets/${file.id}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(described).toMatchObject({ format: 'openai-finetune', kind: 'text', rows: 30 });
    expect(described.classBalance).toEqual({ good: 15, bad: 15 });

    const ids: string[] = [];
    for await (const f of client.files.list()) ids.push(f.id);
    expect(ids).toEqual([csv.id, legacy.id, file.id].filter((id) => ids.includes(id)));
    expect(ids).toHaveLength(3);
    const page = await client.files.list({ limit: 2 });
    expect(page.data.map((f) => f.id)).toEqual(ids.slice(0, 2));
    expect(page.has_more).toBe(true);
    expect((await client.files.list({ limit: 2, after: ids[1] })).data.map((f) => f.id)).toEqual([ids[2]]);

    expect(await client.files.delete(legacy.id)).toEqual({ id: legacy.id, object: 'file', deleted: true });
    const gone = await client.files.retrieve(legacy.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect(gone).toMatchObject({ status: 404, param: 'file_id', type: 'invalid_request_error' });
    await client.files.delete(csv.id);
  });

  it("refuses other purposes and malformed files in OpenAI's shape, keeping nothing", async () => {
    const before = (await client.files.list()).data.length;
    const purpose = await client.files
      .create({ file: await toFile(Buffer.from(chatJsonl(4)), 'a.jsonl'), purpose: 'assistants' })
      .catch((e: unknown) => e);
    expect(purpose).toBeInstanceOf(OpenAI.BadRequestError);
    expect(purpose).toMatchObject({ param: 'purpose', type: 'invalid_request_error' });
    const noAnswer = `${chatJsonl(2)}\n{"messages": [{"role": "user", "content": "hi"}]}\n`;
    const bad = await upload(noAnswer, 'b.jsonl').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ code: 'invalid_dataset', param: 'line 3' });
    expect((bad as Error).message).toMatch(/needs an assistant message/);
    const expiring = await client.files
      .create({
        file: await toFile(Buffer.from(chatJsonl(4)), 'c.jsonl'),
        purpose: 'fine-tune',
        expires_after: { anchor: 'created_at', seconds: 3600 },
      })
      .catch((e: unknown) => e);
    expect(expiring).toMatchObject({ status: 400, param: 'expires_after[anchor]' });
    expect((await client.files.list()).data).toHaveLength(before);
    // A JSON body is not an upload.
    const json = await fetch(`${base}/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ purpose: 'fine-tune' }),
    });
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});

describe('/v1/files upload edge cases', () => {
  it('a client that hangs up mid-upload leaves no file, no dataset and no temp file', async () => {
    const tmp = join(server.dataDir, 'datasets', 'artifacts', 'tmp');
    const before = (await client.files.list()).data.length;
    const boundary = 'maasboundary7';
    const head = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="purpose"',
      '',
      'fine-tune',
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="cut.jsonl"',
      'Content-Type: application/octet-stream',
      '',
      chatJsonl(200),
    ].join('\r\n');
    const { port } = server.app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      `POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${Buffer.byteLength(head) + 100_000}\r\n\r\n${head}`,
    );
    // The server has started staging the file: then the client is gone.
    const deadline = Date.now() + 20_000;
    let staging: string[] = [];
    try {
      while (staging.length === 0 && Date.now() < deadline) {
        await sleep(20);
        staging = await readdir(tmp);
      }
    } finally {
      socket.destroy();
    }
    expect(staging).toHaveLength(1);
    while ((await readdir(tmp)).length > 0 && Date.now() < deadline) await sleep(50);
    expect(await readdir(tmp)).toEqual([]);
    expect((await client.files.list()).data).toHaveLength(before);
    // The server is fine: the next upload works.
    expect((await upload(chatJsonl(4), 'after.jsonl')).status).toBe('processed');
  });
});

describe('/v1/fine_tuning/jobs with the official client', () => {
  it('fine-tunes a text classifier from chat examples; events; the model answers', async () => {
    const file = await upload(chatJsonl(96), 'train.jsonl');
    const created = await client.fineTuning.jobs.create({
      model: 'text-cnn',
      training_file: file.id,
      suffix: 'weather',
      seed: 3,
      hyperparameters: {
        n_epochs: 6,
        batch_size: 16,
        learning_rate_multiplier: 10,
        // maas's own text-cnn hyperparameters pass through under their names.
        ...({ embed_dim: 16, filters: 16, max_length: 8 } as object),
      },
    });
    expect(created).toMatchObject({
      object: 'fine_tuning.job',
      model: 'text-cnn',
      training_file: file.id,
      validation_file: null,
      fine_tuned_model: null,
      seed: 3,
      user_provided_suffix: 'weather',
      hyperparameters: { n_epochs: 6, batch_size: 16, learning_rate_multiplier: 10 },
    });
    expect(created.id).toMatch(/^ftjob-[0-9a-f]{24}$/);
    expect(['queued', 'running']).toContain(created.status);

    const done = await until(created.id, (j) => !['queued', 'running'].includes(j.status));
    expect(done.error, JSON.stringify(done.error)).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.fine_tuned_model).toMatch(/^ft-text-cnn-weather-[0-9a-f]{8}$/);
    expect(done.finished_at).toBeGreaterThanOrEqual(done.created_at);

    const events = await client.fineTuning.jobs.listEvents(created.id, { limit: 100 });
    const all = events.data;
    expect(all[0].message).toMatch(/successfully completed.*ft-text-cnn-weather/);
    expect(all.at(-1)?.message).toBe(`Created fine-tuning job: ${created.id}`);
    const steps = all.filter((e) => e.type === 'metrics' && /^Step /.test(e.message));
    expect(steps.length).toBeGreaterThan(0);
    const last = steps[0].data as { step: number; total_steps: number; train_loss: number };
    // 96 examples, 10% held out → 87 to train on: 5 whole batches of 16 per epoch, 6 epochs.
    expect(last).toMatchObject({ step: 30, total_steps: 30 });
    expect(last.train_loss).toBeLessThan(0.4);
    const epochs = all.filter((e) => /^Epoch /.test(e.message));
    expect(epochs).toHaveLength(6);
    expect(epochs[0].data).toMatchObject({ epoch: 6, valid_accuracy: expect.any(Number) });
    // Pages go toward older events.
    const first = await client.fineTuning.jobs.listEvents(created.id, { limit: 3 });
    expect(first.data.map((e) => e.id)).toEqual(all.slice(0, 3).map((e) => e.id));
    expect(first.has_more).toBe(true);
    const next = await client.fineTuning.jobs.listEvents(created.id, { limit: 3, after: all[2].id });
    expect(next.data.map((e) => e.id)).toEqual(all.slice(3, 6).map((e) => e.id));

    // The fine-tuned model is a maas model: it classifies sentences it never saw.
    const res = await fetch(`${base}/api/v1/models/${done.fine_tuned_model}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: ['a warm day', 'heavy rain tonight', 'so bright', 'cold and hail'] }),
    });
    const out = (await res.json()) as { predictions: { label: string }[] };
    expect(out.predictions.map((p) => p.label)).toEqual(['good', 'bad', 'good', 'bad']);

    // ... and through OpenAI's chat, like a fine-tuned model: the reply is the label.
    const model = done.fine_tuned_model as string;
    const ask = (content: string) =>
      client.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Is this weather good or bad?' },
          { role: 'user', content },
        ],
      });
    const sunny = await ask('so bright here today');
    expect(sunny.choices[0]).toMatchObject({
      message: { role: 'assistant', content: 'good' },
      finish_reason: 'stop',
    });
    expect(sunny.usage).toEqual({ prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 });
    expect((await ask('the sky is sleet')).choices[0].message.content).toBe('bad');
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'morning storm and outside' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe('bad');

    const listed = await client.fineTuning.jobs.list({ limit: 5 });
    expect(listed.data.map((j) => j.id)).toContain(created.id);
    // ~10 s alone; a trainer child on a loaded 2-core machine can take several times that.
  }, 120_000);

  it('cancel stops a job; a finished job cannot be cancelled again', async () => {
    const file = await upload(chatJsonl(40, 7), 'long.jsonl');
    const job = await client.fineTuning.jobs.create({
      model: 'text-cnn',
      training_file: file.id,
      hyperparameters: { n_epochs: 500, batch_size: 4 },
    });
    const cancelled = await client.fineTuning.jobs.cancel(job.id);
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled', fine_tuned_model: null });
    expect((await client.fineTuning.jobs.retrieve(job.id)).status).toBe('cancelled');
    const again = await client.fineTuning.jobs.cancel(job.id).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(OpenAI.ConflictError);
    const events = await client.fineTuning.jobs.listEvents(job.id);
    expect(events.data[0].message).toBe('Fine-tuning job cancelled');
  });

  it("bad requests get 400 in OpenAI's shape naming the field", async () => {
    const file = await upload(chatJsonl(30, 5), 'ok.jsonl');
    const cases: [OpenAI.FineTuning.JobCreateParams, string, RegExp][] = [
      [{ model: 'text-cnn', training_file: 'file-000000000000000000000000' }, 'training_file', /not found/],
      [{ model: 'text-cnn', training_file: '../etc/passwd' }, 'training_file', /./],
      [{ model: 'gpt-4o-mini', training_file: file.id }, 'model', /text-cnn.*language models/],
      [{ model: 'mlp', training_file: file.id }, 'training_file', /trains tabular datasets/],
      [
        { model: 'text-cnn', training_file: file.id, validation_file: file.id },
        'validation_file',
        /not supported/,
      ],
      [
        { model: 'text-cnn', training_file: file.id, hyperparameters: { n_epochs: 0 } },
        'hyperparameters.n_epochs',
        /integer/,
      ],
      [{ model: 'text-cnn', training_file: file.id, suffix: 'Has Spaces' }, 'suffix', /suffix/],
    ];
    for (const [body, param, message] of cases) {
      const e = await client.fineTuning.jobs.create(body).catch((x: unknown) => x);
      expect(e, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e).toMatchObject({ status: 400, param, type: 'invalid_request_error' });
      expect((e as Error).message).toMatch(message);
    }
    const missing = await client.fineTuning.jobs.retrieve('ftjob-000000000000000000000000').catch((x) => x);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
