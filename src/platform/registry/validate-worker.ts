/**
 * Runs in a child process (see validate.ts): decode and check a model file, then let ONNX Runtime
 * load it, and print ONE JSON line with the signature or the refusal. If the file makes ORT crash,
 * hang or exhaust memory, only this process dies.
 *
 * Usage: node --max-old-space-size=N --import tsx validate-worker.ts <file> <intraOpThreads>
 */
import { readFile } from 'node:fs/promises';
import { isMaasError } from '../../common/errors';
import { EngineSession } from '../../engine/index';
import { inspectModel } from './policy';

async function main(): Promise<void> {
  const [file, threads] = process.argv.slice(2);
  const bytes = new Uint8Array(await readFile(file));
  try {
    const info = inspectModel(bytes);
    const session = await EngineSession.create(bytes, { intraOpThreads: Number(threads) || 1 });
    const sig = (list: typeof session.inputs) =>
      list.map((v, i) => ({
        name: v.name,
        // ORT's dtype is null for types maas cannot carry; keep the ONNX name for the signature.
        dtype:
          v.dtype ??
          info[list === session.inputs ? 'inputs' : 'outputs'].find((x) => x.name === v.name)?.elemType ??
          `unsupported#${i}`,
        shape: v.shape,
      }));
    const result = {
      ok: true,
      signature: { inputs: sig(session.inputs), outputs: sig(session.outputs) },
      producer: info.producer,
      opsets: info.opsets,
      nodeCount: info.nodeCount,
    };
    await session.release();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (e) {
    const refusal = isMaasError(e)
      ? { ok: false, code: e.code, detail: e.message }
      : {
          ok: false,
          code: 'invalid_model',
          detail: `ONNX Runtime could not load the model: ${firstLine(e)}`,
        };
    process.stdout.write(`${JSON.stringify(refusal)}\n`);
  }
}

/** ORT messages can quote local paths; keep the first line and drop anything path-like. */
function firstLine(e: unknown): string {
  const msg = String(e instanceof Error ? e.message : e).split('\n')[0];
  return msg.replace(/(\/[\w.-]+){2,}/g, '<path>').slice(0, 300);
}

main().then(
  () => process.exit(0),
  () => process.exit(3),
);
