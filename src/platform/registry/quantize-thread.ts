/** One quantisation in its own worker thread (quantize-worker.ts), off the API's event loop. */
import { Worker } from 'node:worker_threads';
import { entryUrl } from '../../common/entry';
import { fail } from '../../common/errors';
import { EngineError, type QuantizeReport } from '../../engine/index';
import { workerSource } from '../worker-source';
import type { QuantizeAnswer, QuantizeJob } from './quantize-worker';

const workerUrl = entryUrl('quantize-worker', new URL('./quantize-worker.ts', import.meta.url));

/** Engine errors come back as EngineErrors (the caller maps them); a crash is a 500. */
export function quantizeInWorker(job: QuantizeJob): Promise<QuantizeReport> {
  const { source, eval: isCode } = workerSource(workerUrl);
  const worker = new Worker(source, { eval: isCode });
  return new Promise<QuantizeReport>((resolve, reject) => {
    worker.once('message', (a: QuantizeAnswer) => {
      if (a.ok) resolve(a.report);
      else if (a.engine) reject(new EngineError('invalid_model', a.message));
      else reject(new Error(a.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the quantisation worker exited (${code})`)));
    worker.postMessage(job);
  })
    .catch((e: unknown) => {
      if (e instanceof EngineError) throw e;
      return fail('internal', `quantisation failed: ${e instanceof Error ? e.message : String(e)}`);
    })
    .finally(() => void worker.terminate());
}
