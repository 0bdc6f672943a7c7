/**
 * The model fuzzer: hostile model files (model-mutations.ts) are first checked in this process —
 * the server's static checks (policy.ts), then ONNX Runtime loads the ones they let through, so a
 * file that crashes ORT natively kills this process with the case named on stderr — then uploaded
 * to a real `maas serve` over its socket. Every answer must be a 4xx or a 201; a 201 must then
 * infer (200) or be refused with a 4xx; the server's pid must stay alive and its RSS bounded.
 *
 * Uploads the static checks refuse cost the server ~1 ms; the ones that reach its ORT child process
 * cost ~1 s each, so `uploadRate` samples them (the in-process ORT load still covers every case).
 */
import { readFileSync } from 'node:fs';
import { v2DataType } from '../../src/api/v2-tensors';
import { EngineSession } from '../../src/engine/index';
import { inspectModel } from '../../src/platform/registry/policy';
import { caseOf, describeCase, type FuzzCase, type ModelSource, prng } from './model-mutations';

export interface ModelFuzzOptions {
  url: string;
  key: string;
  /** The server's pid, for its RSS (Linux /proc) and to prove it never restarted. */
  pid: number;
  sources: readonly ModelSource[];
  seed: number;
  count: number;
  /** Share of cases that pass the static checks to upload as well (1 = all). */
  uploadRate: number;
  /** Largest server RSS allowed (bytes). */
  maxRss: number;
  /** Cases to leave out (the script's `--only`). */
  skip?: (index: number) => boolean;
  /** Called before each case (the script prints progress). */
  onCase?: (c: FuzzCase) => void;
}

type InProcess = 'refused-statically' | 'refused-by-ort' | 'loaded';

export interface ModelFuzzReport {
  cases: number;
  uploads: number;
  inProcess: Record<InProcess, number>;
  answers: Record<string, number>;
  inferred: Record<string, number>;
  maxRssBytes: number;
  findings: string[];
}

/** Cases in flight at once. */
const PARALLEL = 4;

const LEAK = /\bat .+:\d+:\d+|\/(?:tmp|home|usr|work|root|var)\/|node_modules|\.ts:\d+/;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

async function checkInProcess(c: FuzzCase): Promise<InProcess | string> {
  try {
    inspectModel(c.bytes);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return code === 'invalid_model' || code === 'unsupported_model'
      ? 'refused-statically'
      : `static checks threw ${String(e).slice(0, 200)}`;
  }
  try {
    const s = await EngineSession.create(c.bytes, { intraOpThreads: 1 });
    await s.release();
    return 'loaded';
  } catch {
    return 'refused-by-ort';
  }
}

/** A v2 request of zeros for a signature (symbolic dims → 1); null when a dtype has no v2 name. */
function zerosRequest(sig: { inputs: { name: string; dtype: string; shape: (number | string | null)[] }[] }) {
  const inputs = [];
  for (const i of sig.inputs) {
    const datatype = v2DataType(i.dtype);
    if (!/^(BOOL|U?INT\d+|FP32|FP64)$/.test(datatype)) return null;
    const shape = i.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const n = shape.reduce((a, d) => a * d, 1);
    if (n > 100_000) return null;
    inputs.push({ name: i.name, shape, datatype, data: new Array(n).fill(datatype === 'BOOL' ? false : 0) });
  }
  return { inputs };
}

export async function runModelFuzz(o: ModelFuzzOptions): Promise<ModelFuzzReport> {
  const report: ModelFuzzReport = {
    cases: o.count,
    uploads: 0,
    inProcess: { 'refused-statically': 0, 'refused-by-ort': 0, loaded: 0 },
    answers: {},
    inferred: {},
    maxRssBytes: 0,
    findings: [],
  };
  const headers = { authorization: `Bearer ${o.key}` };
  const runCase = async (index: number) => {
    const c = caseOf(o.sources, o.seed, index);
    const where = describeCase(c);
    o.onCase?.(c);
    const local = await checkInProcess(c);
    if (!(local in report.inProcess)) {
      report.findings.push(`${where}: ${local}`);
      return;
    }
    report.inProcess[local as InProcess]++;
    // Per case, not per stream: the same cases are uploaded whatever ran before or beside them.
    if (local !== 'refused-statically' && prng(o.seed ^ (index * 7919))() >= o.uploadRate) return;
    const name = `fz-${o.seed}-${index}`;
    const res = await fetch(`${o.url}/api/v1/models/${name}/versions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: c.bytes,
    });
    report.uploads++;
    const body = await res.text();
    report.answers[res.status] = (report.answers[res.status] ?? 0) + 1;
    if (res.status !== 201 && (res.status < 400 || res.status >= 500))
      report.findings.push(`${where}: upload answered ${res.status} ${body.slice(0, 200)}`);
    if (LEAK.test(body)) report.findings.push(`${where}: the answer leaks ${body.slice(0, 200)}`);
    if (/crashed the loader/.test(body))
      report.findings.push(`${where}: ORT crashed in the check child: ${body.slice(0, 200)}`);
    if (res.status === 201) await inferOnce(o, name, JSON.parse(body).signature, where, report);
  };
  // A few cases at once: a loaded machine spends most of a request waiting, not computing.
  const wanted = Array.from({ length: o.count }, (_, i) => i).filter((i) => !o.skip?.(i));
  for (let at = 0; at < wanted.length; at += PARALLEL) {
    await Promise.all(wanted.slice(at, at + PARALLEL).map(runCase));
    if ((at / PARALLEL) % 25 === 0) await checkAlive(o, `case ${wanted[at]}`, report);
  }
  await checkAlive(o, 'the end', report);
  return report;
}

async function inferOnce(
  o: ModelFuzzOptions,
  name: string,
  signature: Parameters<typeof zerosRequest>[0],
  where: string,
  report: ModelFuzzReport,
) {
  const request = zerosRequest(signature);
  if (!request) return;
  const res = await fetch(`${o.url}/v2/models/${name}/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = await res.text();
  report.inferred[res.status] = (report.inferred[res.status] ?? 0) + 1;
  if (res.status !== 200 && (res.status < 400 || res.status >= 500))
    report.findings.push(`${where}: inference answered ${res.status} ${body.slice(0, 200)}`);
  if (LEAK.test(body)) report.findings.push(`${where}: the inference answer leaks ${body.slice(0, 200)}`);
}

async function checkAlive(o: ModelFuzzOptions, where: string, report: ModelFuzzReport): Promise<void> {
  let rss = 0;
  try {
    rss = rssOf(o.pid);
  } catch {
    report.findings.push(`after ${where}: the server (pid ${o.pid}) is gone`);
    throw new Error(report.findings.join('\n'));
  }
  report.maxRssBytes = Math.max(report.maxRssBytes, rss);
  if (rss > o.maxRss) report.findings.push(`after ${where}: server RSS ${rss} bytes over ${o.maxRss}`);
  const health = await fetch(`${o.url}/healthz`);
  if (health.status !== 200) report.findings.push(`after ${where}: /healthz answered ${health.status}`);
}
