/**
 * Runs in a child process (see validate.ts): decode and check a model file, then let ONNX Runtime
 * load it, and print ONE JSON line with the signature or the refusal. If the file makes ORT crash,
 * hang or exhaust memory, only this process dies.
 *
 * Usage: node --max-old-space-size=N --import tsx validate-worker.ts <file> <intraOpThreads> [<folder>]
 * With <folder> (the uploaded model folder that holds <file>), external data is allowed from the
 * folder's own files and ONNX Runtime loads the graph by path, so it finds that data beside it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { isMaasError } from '../../common/errors';
import { EngineSession, missingOps } from '../../engine/index';
import { type GraphFolder, inspectModel } from './policy';

/** Every file under `root`, as `/`-separated paths relative to it. */
async function folderOf(root: string, file: string): Promise<GraphFolder> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, `${e.parentPath}${sep}${e.name}`).split(sep).join('/'));
  return { graph: relative(root, file).split(sep).join('/'), files: new Set(files) };
}

async function main(): Promise<void> {
  const [file, threads, root] = process.argv.slice(2);
  const bytes = new Uint8Array(await readFile(file));
  try {
    const folder = root ? await folderOf(root, file) : undefined;
    const info = inspectModel(bytes, folder);
    const options = { intraOpThreads: Number(threads) || 1 };
    const session = await EngineSession.create(folder ? file : bytes, options);
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
      // Ops the engine cannot import (so cannot differentiate): none means explain and fine-tune work.
      missingOps: missingOps(bytes),
      ...weights(info.initializers),
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

/** Weight elements (shape constants left out) and initializer elements by element type. */
function weights(initializers: readonly { elemType: string; dims: number[] }[]) {
  const weightTypes: Record<string, number> = {};
  let parameters = 0;
  for (const t of initializers) {
    const n = t.dims.reduce((a, d) => a * d, 1);
    // int64/int32 initializers are shapes and axes, not weights.
    if (!['int64', 'int32', 'bool'].includes(t.elemType)) parameters += n;
    weightTypes[t.elemType] = (weightTypes[t.elemType] ?? 0) + n;
  }
  return { parameters, weightTypes };
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
