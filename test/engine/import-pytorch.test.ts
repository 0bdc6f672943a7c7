/**
 * Import of models exported by PyTorch itself (Debian's python3-torch, in a child process): a
 * ResNet-style CNN (BatchNorm folded into Conv by the exporter, residual block, adaptive pool,
 * `view(N, -1)`) and a transformer encoder layer at opset 13 (decomposed LayerNorm) and 17
 * (LayerNormalization). Import → export must give the original's outputs within 1e-5 at a new
 * batch size, and the imported CNN's input gradient must equal PyTorch's autograd. Skipped when
 * /usr/bin/python3 has no torch.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/autodiff';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx } from '../../src/engine/onnx/import';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { tempDir } from '../helpers/tmp';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

const script = `
import json, sys, torch
torch.manual_seed(0)
out = sys.argv[1]

class Block(torch.nn.Module):
    def __init__(s, c):
        super().__init__()
        s.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False); s.bn1 = torch.nn.BatchNorm2d(c)
        s.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False); s.bn2 = torch.nn.BatchNorm2d(c)
    def forward(s, x):
        y = torch.relu(s.bn1(s.conv1(x)))
        return torch.relu(x + s.bn2(s.conv2(y)))

class ResNet(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.stem = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        s.block = Block(4); s.pool = torch.nn.AdaptiveAvgPool2d(1); s.fc = torch.nn.Linear(4, 3)
    def forward(s, x):
        h = s.pool(s.block(s.stem(x)))
        return s.fc(h.view(h.size(0), -1))

class Encoder(torch.nn.Module):
    def __init__(s, d=8, heads=2):
        super().__init__()
        s.emb = torch.nn.Embedding(10, d); s.pos = torch.nn.Parameter(torch.randn(5, d) * 0.1)
        s.ln1 = torch.nn.LayerNorm(d); s.qkv = torch.nn.Linear(d, 3 * d); s.proj = torch.nn.Linear(d, d)
        s.ln2 = torch.nn.LayerNorm(d); s.mlp = torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.GELU(), torch.nn.Linear(16, d))
        s.head = torch.nn.Linear(d, 2); s.h = heads
    def forward(s, ids):
        b, t = ids.shape
        x = s.emb(ids) + s.pos[:t]
        q, k, v = s.qkv(s.ln1(x)).split(x.size(-1), dim=-1)
        sh = lambda z: z.view(b, t, s.h, -1).transpose(1, 2)
        q, k, v = sh(q), sh(k), sh(v)
        a = torch.softmax(q @ k.transpose(-2, -1) / (q.size(-1) ** 0.5), dim=-1)
        x = x + s.proj((a @ v).transpose(1, 2).reshape(b, t, -1))
        x = x + s.mlp(s.ln2(x))
        return torch.log_softmax(s.head(x.mean(dim=1)), dim=-1)

def bn_stats(m):
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 2); mod.weight.data.uniform_(0.5, 1.5)

refs = {}
r = ResNet().eval(); bn_stats(r)
x = torch.randn(2, 1, 8, 8, requires_grad=True)
torch.onnx.export(r, x, f'{out}/resnet.onnx', input_names=['image'], output_names=['logits'],
    dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
y = r(x); w = torch.randn_like(y); (y * w).sum().backward()
refs['resnet'] = {'x': x.detach().flatten().tolist(), 'y': y.detach().flatten().tolist(), 'w': w.flatten().tolist(), 'dx': x.grad.flatten().tolist()}
e = Encoder().eval()
ids = torch.randint(0, 10, (2, 5))
for opset in (13, 17):
    torch.onnx.export(e, ids, f'{out}/encoder{opset}.onnx', input_names=['input_ids'], output_names=['log_probs'],
        dynamic_axes={'input_ids': {0: 'batch'}, 'log_probs': {0: 'batch'}}, opset_version=opset)
refs['encoder'] = {'x': ids.flatten().tolist(), 'y': e(ids).detach().flatten().tolist()}
json.dump(refs, open(f'{out}/refs.json', 'w'))
`;

interface Refs {
  resnet: { x: number[]; y: number[]; w: number[]; dx: number[] };
  encoder: { x: number[]; y: number[] };
}

async function run(model: Uint8Array, feeds: Record<string, Tensor>): Promise<Tensor> {
  const s = await EngineSession.create(model, { intraOpThreads: 1 });
  try {
    return Object.values(await s.run(feeds))[0];
  } finally {
    await s.release();
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe.skipIf(!hasTorch)('models exported by PyTorch', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let refs: Refs;
  const model = async (name: string) => new Uint8Array(await readFile(join(tmp.dir, `${name}.onnx`)));

  beforeAll(async () => {
    tmp = await tempDir();
    await writeFile(join(tmp.dir, 'export.py'), script);
    const r = spawnSync(PYTHON, [join(tmp.dir, 'export.py'), tmp.dir], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    refs = JSON.parse(await readFile(join(tmp.dir, 'refs.json'), 'utf8'));
  }, 120_000);
  afterAll(async () => {
    await tmp.remove();
  });

  it('a ResNet-style CNN: import → export gives the outputs of the original (1e-5) and of PyTorch (1e-4)', async () => {
    const original = await model('resnet');
    const exported = encodeModel(importOnnx(original).graph);
    const x = tensorFrom('float32', [2, 1, 8, 8], refs.resnet.x);
    const got = (await run(exported, { image: x })).data as Float32Array;
    expect(maxDiff(got, (await run(original, { image: x })).data as Float32Array)).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(got, refs.resnet.y)).toBeLessThanOrEqual(1e-4);
    // A batch size the export never saw: the batch dim stayed symbolic through the import.
    const three = tensorFrom('float32', [3, 1, 8, 8], [...refs.resnet.x, ...refs.resnet.x.slice(0, 64)]);
    const a = (await run(exported, { image: three })).data as Float32Array;
    expect(maxDiff(a, (await run(original, { image: three })).data as Float32Array)).toBeLessThanOrEqual(
      1e-5,
    );
  });

  it("the imported CNN's input gradient equals PyTorch's autograd (1e-4)", async () => {
    const m = importOnnx(await model('resnet'), { dims: { batch: 2 } });
    const g = m.graph;
    const y = m.outputs[0].value;
    const w = g.constant(tensorFrom('float32', [2, 3], refs.resnet.w));
    const loss = g.op('ReduceSum', [g.op('Mul', [y, w])], { keepdims: false });
    const [dx] = gradients(g, loss, [m.inputs[0].value]);
    g.output('dx', dx!);
    const s = await EngineSession.create(encodeModel(g), { intraOpThreads: 1 });
    const out = await s.run({ image: tensorFrom('float32', [2, 1, 8, 8], refs.resnet.x) }, ['dx']);
    await s.release();
    expect(maxDiff(out.dx.data as Float32Array, refs.resnet.dx)).toBeLessThanOrEqual(1e-4);
  });

  for (const opset of [13, 17]) {
    it(`a transformer encoder layer at opset ${opset}: round trip within 1e-5, PyTorch within 1e-4`, async () => {
      const original = await model(`encoder${opset}`);
      const exported = encodeModel(importOnnx(original).graph);
      const ids = tensorFrom('int64', [2, 5], refs.encoder.x);
      const got = (await run(exported, { input_ids: ids })).data as Float32Array;
      expect(
        maxDiff(got, (await run(original, { input_ids: ids })).data as Float32Array),
      ).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(got, refs.encoder.y)).toBeLessThanOrEqual(1e-4);
    });
  }
});
