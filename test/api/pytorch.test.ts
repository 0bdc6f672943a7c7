/**
 * A model exported from PyTorch that the project has never seen: built and exported by Debian's
 * python3-torch in a child process, uploaded over the API, served over KServe v2; the outputs
 * must equal PyTorch's within 1e-4. Skipped when /usr/bin/python3 has no torch.
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

// A small CNN with a seed: conv → ReLU → max-pool → dense → softmax, dynamic batch, opset 13.
const script = `
import json, sys, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3), torch.nn.Softmax(dim=1)).eval()
x = torch.randn(2, 1, 8, 8)
torch.onnx.export(m, x, sys.argv[1], input_names=['image'], output_names=['probs'],
    dynamic_axes={'image': {0: 'batch'}, 'probs': {0: 'batch'}}, opset_version=13)
with torch.no_grad():
    y = m(x)
json.dump({'x': x.flatten().tolist(), 'y': y.flatten().tolist()}, open(sys.argv[2], 'w'))
`;

describe.skipIf(!hasTorch)('a model exported from PyTorch', () => {
  let s: TestServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    s = await testServer();
    tmp = await tempDir();
  });
  afterAll(async () => {
    await s.close();
    await tmp.remove();
  });

  it('answers over /v2 with the numbers PyTorch gives (1e-4)', async () => {
    const py = join(tmp.dir, 'export.py');
    await writeFile(py, script);
    const run = spawnSync(PYTHON, [py, join(tmp.dir, 'm.onnx'), join(tmp.dir, 'ref.json')], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const ref = JSON.parse(await readFile(join(tmp.dir, 'ref.json'), 'utf8')) as { x: number[]; y: number[] };
    const up = await upload(s.app, 'torch-cnn', new Uint8Array(await readFile(join(tmp.dir, 'm.onnx'))));
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    const res = await s.app.inject({
      method: 'POST',
      url: '/v2/models/torch-cnn/infer',
      headers: auth,
      payload: { inputs: [{ name: 'image', shape: [2, 1, 8, 8], datatype: 'FP32', data: ref.x }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json().outputs[0];
    expect(out.shape).toEqual([2, 3]);
    out.data.forEach((v: number, i: number) => {
      expect(Math.abs(v - ref.y[i])).toBeLessThanOrEqual(1e-4);
    });
  });
});
