/**
 * Entry of the zoo trainer child process (`node --import tsx worker.ts`): trains the zoo rows the
 * server asks for, one `train` message at a time, in this one process (so `image-gen` reuses the
 * digit CNN that `mnist-cnn` trained), and writes each model to a file. When the server dies the
 * IPC channel closes and this process exits with it: no orphan trains for no one.
 */
import { readdirSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { zooEntry } from '../../models/zoo/index';
import type { ZooParentMessage, ZooTrainRequest, ZooWorkerMessage } from './protocol';

function send(m: ZooWorkerMessage): void {
  if (process.connected) process.send?.(m, undefined, {}, (e) => e && process.exit(3));
}

/**
 * Lower the priority of every thread this process has now. On Linux a nice value belongs to a
 * thread: the parent's setPriority(pid) reached the main thread only, and threads started later
 * (ONNX Runtime's pool) inherit from the thread that starts them.
 */
function reniceAll(nice: number): void {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    tids = [String(process.pid)];
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // A thread that ended meanwhile.
    }
  }
}

async function train(m: ZooTrainRequest): Promise<void> {
  const entry = zooEntry(m.name);
  const t0 = performance.now();
  const artifact = await entry.train({
    seed: m.seed,
    scale: m.scale,
    log: (line) => send({ type: 'progress', name: m.name, line }),
  });
  const onnxFile = join(m.dir, `${m.name}.onnx`);
  // Written whole then renamed: the parent never reads a half-written file.
  await writeFile(`${onnxFile}.part`, artifact.onnx);
  await rename(`${onnxFile}.part`, onnxFile);
  send({
    type: 'trained',
    name: m.name,
    onnxFile,
    metadata: artifact.metadata,
    quality: artifact.quality,
    seconds: (performance.now() - t0) / 1000,
  });
}

process.on('disconnect', () => process.exit(3));

let queue = Promise.resolve();
process.on('message', (m: ZooParentMessage) => {
  if (m.type !== 'train') process.exit(2);
  reniceAll(m.nice);
  queue = queue.then(() =>
    train(m).catch((e: unknown) =>
      send({ type: 'failed', name: m.name, message: (e as Error).message ?? String(e) }),
    ),
  );
});
