/**
 * Body of a model's worker thread: owns one EngineSession and runs it on request, so a long run
 * never blocks the server's event loop. Messages: load → loaded | failed; run → result | error;
 * close-sequence (no answer); release → released (then the thread exits). A run with `sequence`
 * takes its fed-back inputs from, and leaves its fed-back outputs in, this thread's SequenceStates;
 * batch-step → result steps several open sequences in one run (DecodeBatch), each row's outputs
 * in its sequence's shared buffers (SharedOutputs).
 */
import { parentPort } from 'node:worker_threads';
import {
  type BatchPlan,
  EngineSession,
  type Feedback,
  SequenceStates,
  type SessionOptions,
} from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import { type BatchRow, DecodeBatch } from './decode-batch';
import { SharedOutputs } from './shared-outputs';

type Inbound =
  | { type: 'load'; model: string | Uint8Array; options: SessionOptions }
  | {
      type: 'run';
      id: number;
      feeds: Record<string, Tensor>;
      outputs?: string[];
      sequence?: { id: number; feedback: Feedback };
    }
  | {
      type: 'batch-step';
      id: number;
      rows: BatchRow[];
      feedback: Feedback;
      plan: BatchPlan;
      outputs?: string[];
    }
  | { type: 'close-sequence'; id: number }
  | { type: 'release' };

const port = parentPort!;
let session: EngineSession | null = null;
const sequences = new SequenceStates();
const batch = new DecodeBatch(sequences);
const shared = new SharedOutputs();

function run(msg: Extract<Inbound, { type: 'run' }>): Promise<Record<string, Tensor>> {
  const s = session!;
  if (!msg.sequence) return s.run(msg.feeds, msg.outputs);
  batch.detach(msg.sequence.id);
  return sequences.run(
    msg.sequence.id,
    msg.sequence.feedback,
    (feeds, outputs) => s.run(feeds, outputs),
    msg.feeds,
    msg.outputs,
  );
}

const short = (e: unknown) =>
  String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 500);

port.on('message', async (msg: Inbound) => {
  if (msg.type === 'load') {
    try {
      session = await EngineSession.create(msg.model, msg.options);
      port.postMessage({ type: 'loaded', inputs: session.inputs, outputs: session.outputs });
    } catch (e) {
      port.postMessage({ type: 'failed', message: short(e) });
    }
  } else if (msg.type === 'run') {
    try {
      const out = await run(msg);
      const transfer = Object.values(out).map((t) => t.data.buffer as ArrayBuffer);
      port.postMessage({ type: 'result', id: msg.id, outputs: out }, transfer);
    } catch (e) {
      port.postMessage({ type: 'error', id: msg.id, message: short(e) });
    }
  } else if (msg.type === 'batch-step') {
    try {
      const s = session!;
      const out = await batch.step(msg.rows, msg.feedback, msg.plan, (f, o) => s.run(f, o), msg.outputs);
      // Each row's outputs go in its sequence's shared buffers (no new memory a step on the API thread).
      const placed = out.map((row, r) => shared.place(msg.rows[r].id, row));
      port.postMessage({ type: 'result', id: msg.id, outputs: placed });
    } catch (e) {
      port.postMessage({ type: 'error', id: msg.id, message: short(e) });
    }
  } else if (msg.type === 'close-sequence') {
    batch.close(msg.id);
    shared.close(msg.id);
  } else if (msg.type === 'release') {
    sequences.clear();
    batch.clear();
    shared.clear();
    await session?.release();
    session = null;
    port.postMessage({ type: 'released' });
    port.close();
  }
});
