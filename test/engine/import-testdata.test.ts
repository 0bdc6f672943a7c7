/**
 * ONNX → IR → ONNX round trip on Debian's libonnx-testdata: every model whose ops the importer
 * covers is imported, written back out by the engine, and both files are run by ONNX Runtime on
 * the reference inputs; the outputs must agree within 1e-5. Skipped cleanly when the package is
 * absent. Models the importer refuses (an unsupported attribute form, a run-time shape) are
 * counted with their reason, not failed: refusing clearly is the importer's contract.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../src/engine/errors';
import { decodeTensorProto } from '../../src/engine/onnx/decode';
import { encodeModel } from '../../src/engine/onnx/encode';
import { importOnnx, missingOps } from '../../src/engine/onnx/import';
import { EngineSession } from '../../src/engine/runtime/session';
import { isTensorDType, type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';

const ROOT = '/usr/share/libonnx-testdata/data';
const GROUPS = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];

async function inputsOf(dir: string): Promise<Tensor[] | null> {
  const set = join(dir, 'test_data_set_0');
  const files = (await readdir(set))
    .filter((f) => f.startsWith('input_') && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(6, -3)) - Number(b.slice(6, -3)));
  const out: Tensor[] = [];
  for (const f of files) {
    let t: ReturnType<typeof decodeTensorProto>;
    try {
      t = decodeTensorProto(new Uint8Array(await readFile(join(set, f))));
    } catch {
      return null;
    }
    if (!isTensorDType(t.elemType)) return null;
    out.push(tensorFrom(t.elemType, t.dims, t.values));
  }
  return out;
}

const close = (a: number, b: number) =>
  (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));

type Outcome = 'pass' | 'uncovered' | { refused: string } | { fail: string };

async function roundTrip(dir: string): Promise<Outcome> {
  const bytes = new Uint8Array(await readFile(join(dir, 'model.onnx')));
  if (missingOps(bytes).length) return 'uncovered';
  const inputs = await inputsOf(dir);
  if (!inputs) return { refused: 'reference inputs of a type maas does not carry' };
  let exported: Uint8Array;
  try {
    const m = importOnnx(bytes);
    exported = encodeModel(m.graph);
  } catch (e) {
    if (isEngineError(e)) return { refused: e.message };
    throw e;
  }
  let original: EngineSession;
  try {
    original = await EngineSession.create(bytes, { intraOpThreads: 1 });
  } catch {
    return { refused: 'ONNX Runtime does not load the original' };
  }
  const copy = await EngineSession.create(exported, { intraOpThreads: 1 });
  try {
    const feeds = Object.fromEntries(original.inputNames.map((n, i) => [n, inputs[i]]));
    const want = await original.run(feeds);
    const got = await copy.run(feeds);
    for (const [name, w] of Object.entries(want)) {
      const g = got[name];
      if (!g) return { fail: `output ${name} missing` };
      if (g.dtype !== w.dtype || g.dims.join() !== w.dims.join())
        return { fail: `${name}: ${g.dtype}[${g.dims}] vs ${w.dtype}[${w.dims}]` };
      const a = Array.from(g.data as ArrayLike<number | bigint>, Number);
      const b = Array.from(w.data as ArrayLike<number | bigint>, Number);
      const bad = a.findIndex((v, i) => !close(v, b[i]));
      if (bad >= 0) return { fail: `${name}[${bad}]: ${a[bad]} vs ${b[bad]}` };
    }
    return 'pass';
  } finally {
    await original.release();
    await copy.release();
  }
}

describe.skipIf(!existsSync(ROOT))('import → export round trip on libonnx-testdata', () => {
  it('gives the outputs of the original (1e-5) for every covered model it imports', async () => {
    const counts = { pass: 0, uncovered: 0, refused: 0 };
    const failures: string[] = [];
    const refusals: string[] = [];
    for (const group of GROUPS) {
      for (const name of (await readdir(join(ROOT, group))).sort()) {
        const dir = join(ROOT, group, name);
        if (!existsSync(join(dir, 'model.onnx')) || !existsSync(join(dir, 'test_data_set_0'))) continue;
        const r = await roundTrip(dir);
        if (r === 'pass' || r === 'uncovered') counts[r]++;
        else if ('refused' in r) {
          counts.refused++;
          refusals.push(`${group}/${name}: ${r.refused}`);
        } else failures.push(`${group}/${name}: ${r.fail}`);
      }
    }
    if (process.env.MAAS_IMPORT_REPORT) console.log(counts, refusals.join('\n'));
    expect(failures).toEqual([]);
    // The covered op set is broad: most covered models import (a regression would drop this).
    expect(counts.pass).toBeGreaterThan(150);
  }, 600_000);
});
