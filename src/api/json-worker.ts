/**
 * Runs in a worker thread (json-threads.ts): parses one large JSON body per message with the same
 * checks and messages as the event loop's own path (json-body.ts), and answers with the value as
 * a tape (json-tape.ts) whose arrays are transferred, or with the 400 the body earned. If a body
 * still exhausts this thread's heap, only this thread dies.
 */
import { parentPort } from 'node:worker_threads';
import { isMaasError } from '../common/errors';
import { type JsonShape, parseJsonBody } from './json-body';
import { encodeTape, type JsonTape, tapeBuffers } from './json-tape';

export interface ParseRequest {
  id: number;
  bytes: Uint8Array;
  shape: JsonShape;
  /** True when a JsonDepthScanner already saw every byte while the body arrived. */
  depthChecked: boolean;
}

export type ParseAnswer =
  | { id: number; ok: true; tape: JsonTape }
  | { id: number; ok: false; code: string; message: string; pointer?: string };

function answer(req: ParseRequest): { answer: ParseAnswer; transfer: ArrayBuffer[] } {
  try {
    const tape = encodeTape(parseJsonBody(req.bytes, req.shape, req.depthChecked));
    return { answer: { id: req.id, ok: true, tape }, transfer: tapeBuffers(tape) };
  } catch (e) {
    if (isMaasError(e))
      return {
        answer: { id: req.id, ok: false, code: e.code, message: e.message, pointer: e.extras.pointer },
        transfer: [],
      };
    // A RangeError is a string or array past what this thread can hold: the body's size, not
    // its syntax (syntax errors are MaasErrors with their line and column).
    const tooBig = e instanceof RangeError;
    return {
      answer: {
        id: req.id,
        ok: false,
        code: tooBig ? 'payload_too_large' : 'invalid_request',
        message: tooBig
          ? 'the JSON body holds a value too large to parse: split the inputs over several requests, or send tensors in the binary format'
          : 'the JSON body could not be parsed',
      },
      transfer: [],
    };
  }
}

parentPort?.on('message', (req: ParseRequest) => {
  const { answer: a, transfer } = answer(req);
  parentPort?.postMessage(a, transfer);
});
