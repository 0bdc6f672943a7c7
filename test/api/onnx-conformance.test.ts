/**
 * Conformance over KServe v2 with Debian's libonnx-testdata: each sampled model is uploaded
 * through the API (child-process check and all), fed its reference inputs as JSON tensors, and its
 * outputs compared with the reference outputs. Skipped cleanly when the package is absent.
 *
 * Skips (counted, with a reason): types v2 JSON or maas cannot carry (string, float16, ...),
 * non-finite values (JSON has no NaN/Infinity), models ONNX Runtime refuses to load (the upload
 * answers 4xx, which is the correct behaviour), sequence/optional values, random ops (training-mode
 * dropout, RandomNormal, Bernoulli: the reference is one draw). MAAS_ONNX_CONFORMANCE_SAMPLE=1072
 * runs them all.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v2DataType, v2DataTypes } from '../../src/api/v2-tensors';
import { type DecodedTensor, decodeTensorProto } from '../../src/engine/onnx/decode';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

const ROOT = '/usr/share/libonnx-testdata/data';
/** Models sampled: every k-th of the sorted list, so a run stays well under a minute. */
const SAMPLE = Number(process.env.MAAS_ONNX_CONFORMANCE_SAMPLE ?? 24);
const carried = new Set(Object.values(v2DataTypes));

interface Case {
  id: string;
  dir: string;
}

async function listCases(): Promise<Case[]> {
  const out: Case[] = [];
  for (const group of (await readdir(ROOT)).sort()) {
    for (const name of (await readdir(join(ROOT, group))).sort()) {
      const dir = join(ROOT, group, name);
      if (existsSync(join(dir, 'model.onnx')) && existsSync(join(dir, 'test_data_set_0'))) {
        out.push({ id: `${group}/${name}`, dir });
      }
    }
  }
  return out;
}

async function readSet(dir: string, prefix: 'input' | 'output'): Promise<DecodedTensor[]> {
  const files = (await readdir(join(dir, 'test_data_set_0')))
    .filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return Promise.all(
    files.map(async (f) =>
      decodeTensorProto(new Uint8Array(await readFile(join(dir, 'test_data_set_0', f)))),
    ),
  );
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 + 1e-3 * Math.abs(b);

type Outcome = { kind: 'pass' } | { kind: 'skip' | 'fail'; reason: string };

/** Ops whose outputs are random by definition: the reference is one draw, not the answer. */
const RANDOM = /dropout|random|bernoulli|multinomial/;

async function runCase(s: TestServer, c: Case, index: number): Promise<Outcome> {
  if (RANDOM.test(c.id) && /training|random|bernoulli|multinomial/.test(c.id))
    return { kind: 'skip', reason: 'random output' };
  let inputs: DecodedTensor[];
  let outputs: DecodedTensor[];
  try {
    inputs = await readSet(c.dir, 'input');
    outputs = await readSet(c.dir, 'output');
  } catch (e) {
    return { kind: 'skip', reason: `reference data: ${(e as Error).message}` };
  }
  for (const t of [...inputs, ...outputs]) {
    if (!carried.has(t.elemType as never)) return { kind: 'skip', reason: `type ${t.elemType}` };
    if (t.values.some((v) => typeof v === 'number' && !Number.isFinite(v)))
      return { kind: 'skip', reason: 'non-finite values' };
  }
  const name = `m${index}`;
  const up = await upload(s.app, name, new Uint8Array(await readFile(join(c.dir, 'model.onnx'))));
  if (up.statusCode !== 201)
    return { kind: 'skip', reason: `upload ${up.statusCode}: ${String(up.body.detail).slice(0, 80)}` };
  const sig = up.body.signature as { inputs: { name: string }[]; outputs: { name: string }[] };
  if (sig.inputs.length !== inputs.length) return { kind: 'skip', reason: 'optional inputs' };
  const res = await s.app.inject({
    method: 'POST',
    url: `/v2/models/${name}/infer`,
    headers: auth,
    payload: {
      inputs: inputs.map((t, i) => ({
        name: sig.inputs[i].name,
        shape: t.dims,
        datatype: v2DataType(t.elemType),
        data: t.values.map((v) => (t.elemType === 'bool' ? v !== 0 : Number(v))),
      })),
    },
  });
  if (res.statusCode !== 200)
    return { kind: 'fail', reason: `infer ${res.statusCode}: ${res.body.slice(0, 120)}` };
  const got = res.json().outputs as { name: string; shape: number[]; data: (number | boolean)[] }[];
  for (let i = 0; i < outputs.length; i++) {
    const want = outputs[i];
    const g = got[i];
    if (JSON.stringify(g.shape) !== JSON.stringify(want.dims))
      return { kind: 'fail', reason: `output ${i} shape ${g.shape}` };
    for (let j = 0; j < want.values.length; j++) {
      if (!close(Number(g.data[j]), Number(want.values[j]))) {
        return { kind: 'fail', reason: `output ${i}[${j}] = ${g.data[j]}, want ${want.values[j]}` };
      }
    }
  }
  return { kind: 'pass' };
}

describe.skipIf(!existsSync(ROOT))('libonnx-testdata conformance over KServe v2', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it(`passes every sampled model it can carry (sample of ${SAMPLE})`, async () => {
    const all = await listCases();
    const step = Math.max(1, Math.floor(all.length / SAMPLE));
    const sample = all.filter((_, i) => i % step === 0).slice(0, SAMPLE);
    const results: (Outcome & { id: string })[] = [];
    // Two at a time: the upload checks are child processes on a 2-core machine.
    for (let i = 0; i < sample.length; i += 2) {
      const pair = sample.slice(i, i + 2);
      const outs = await Promise.all(pair.map((c, k) => runCase(s, c, i + k)));
      outs.forEach((o, k) => {
        results.push({ ...o, id: pair[k].id });
      });
    }
    const count = (k: string) => results.filter((r) => r.kind === k).length;
    const summary = `libonnx-testdata: ${count('pass')} passed, ${count('skip')} skipped, ${count('fail')} failed of ${results.length} sampled (${all.length} available)`;
    console.log(summary);
    for (const r of results) if (r.kind !== 'pass') console.log(`  ${r.kind} ${r.id}: ${r.reason}`);
    expect(results.filter((r) => r.kind === 'fail')).toEqual([]);
    expect(count('pass')).toBeGreaterThanOrEqual(results.length / 2);
    expect((await s.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  }, 600_000); // ~20 s on a quiet machine; generous for a loaded one
});
