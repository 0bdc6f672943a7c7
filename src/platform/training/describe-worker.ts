/**
 * Runs in a worker thread (see describe-pool.ts): describes uploaded datasets one message at a
 * time, with the reader budgets it is sent, and answers ONE message per request. If a parser
 * still blows up (its heap past the worker's `resourceLimits`), only this thread dies.
 */
import { parentPort } from 'node:worker_threads';
import { isMaasError } from '../../common/errors';
import { type DescribeOptions, describeDataset } from '../../data/index';

export interface DescribeRequest {
  id: number;
  path: string;
  options: DescribeOptions;
}

export type DescribeAnswer =
  | { id: number; ok: true; description: unknown }
  | { id: number; ok: false; code: string; message: string; pointer?: string };

parentPort?.on('message', async (req: DescribeRequest) => {
  let answer: DescribeAnswer;
  try {
    answer = { id: req.id, ok: true, description: await describeDataset(req.path, req.options) };
  } catch (e) {
    answer = isMaasError(e)
      ? { id: req.id, ok: false, code: e.code, message: e.message, pointer: e.extras.pointer }
      : // A reader that throws something else met input it does not understand: still the data's fault.
        { id: req.id, ok: false, code: 'invalid_dataset', message: 'the dataset could not be read' };
  }
  parentPort?.postMessage(answer);
});
