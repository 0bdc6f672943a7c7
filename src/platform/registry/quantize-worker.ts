/**
 * Runs in a worker thread, one request per thread (see quantize-thread.ts): rewrites one graph
 * with quantised weights (a 100 M-parameter model takes tens of seconds of pure computation, which
 * must not stall the API's event loop) and writes the result where it is told.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { isEngineError, type QuantizeReport, type QuantizeTarget, quantizeModel } from '../../engine/index';

export interface QuantizeJob {
  /** The float graph's file. */
  graph: string;
  /** location (as the graph names it) → the file holding that external data. */
  external: [string, string][];
  to: QuantizeTarget;
  keepHead: boolean;
  /** Where the quantised graph goes, and its external data (its location: the file's base name). */
  out: string;
  outData?: { path: string; location: string };
}

export type QuantizeAnswer =
  | { ok: true; report: QuantizeReport }
  | { ok: false; engine: boolean; message: string };

parentPort?.once('message', async (job: QuantizeJob) => {
  let answer: QuantizeAnswer;
  try {
    const external = new Map<string, Uint8Array>();
    for (const [location, path] of job.external) external.set(location, new Uint8Array(await readFile(path)));
    const q = quantizeModel(new Uint8Array(await readFile(job.graph)), {
      to: job.to,
      keepHead: job.keepHead,
      external,
      externalLocation: job.outData?.location,
    });
    await writeFile(job.out, q.model);
    if (job.outData && q.externalData) await writeFile(job.outData.path, q.externalData);
    answer = { ok: true, report: q.report };
  } catch (e) {
    answer = { ok: false, engine: isEngineError(e), message: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(answer);
});
