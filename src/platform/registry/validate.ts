/**
 * Checks a new model file in a CHILD process with a JS heap limit and a wall-clock limit, so a
 * hostile file (one that crashes, hangs or exhausts ONNX Runtime) costs a 4xx, never the server.
 * ORT's native allocations are not covered by `--max-old-space-size`; the static checks in
 * policy.ts refuse absurd declared sizes before ORT sees the file, and the timeout bounds the rest.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { entryUrl, nodeArgs, packageRoot } from '../../common/entry';
import { type ErrorCode, errorCatalog, fail } from '../../common/errors';
import type { ModelSignature } from '../../store/ports';
import { inspectModel } from './policy';

export interface ValidationLimits {
  timeoutMs: number;
  memoryMb: number;
  /** ORT threads for the trial load (1 keeps the serving threads free). */
  threads?: number;
}

export interface ValidatedModel {
  signature: ModelSignature;
  producer: string;
  opsets: { domain: string; version: number }[];
  nodeCount: number;
  /** Op types the engine cannot import into its IR (`Op`, or `domain.Op` outside ONNX's own). */
  missingOps: string[];
  /** Elements of all initializers (external ones included): the parameter count of a float graph. */
  parameters?: number;
  /** Initializer elements by element type (`{float32: 1200000, uint8: 300000}`): its quantisation. */
  weightTypes?: Record<string, number>;
}

/**
 * What a version's metadata records about the engine importing it (`trainable`: explain and
 * fine-tuning can differentiate it; `missing_ops`: what stands in the way). Names as the API shows them.
 */
export function trainability(missingOps: readonly string[]): { trainable: boolean; missing_ops: string[] } {
  return { trainable: missingOps.length === 0, missing_ops: [...missingOps] };
}

const workerPath = fileURLToPath(
  entryUrl('validate-worker', new URL('./validate-worker.ts', import.meta.url)),
);
/** Package root: where `--import tsx` resolves from when running the sources. */
const root = fileURLToPath(packageRoot);
/**
 * Files up to this size get the static checks (policy.ts) in the server's own process first: a file
 * they refuse costs a protobuf decode, not a child process (the model fuzzer's corpus is refused
 * this way in ~1 ms a file instead of ~1 s). Larger files are checked by the child only, so the
 * server never decodes a big file on its event loop.
 */
const IN_PROCESS_CHECK_BYTES = 16 * 1024 * 1024;
/** Cap on what the child may print (bytes): a signature is small. */
const MAX_OUTPUT = 4 * 1024 * 1024;

interface ChildResult {
  stdout: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
}

function runChild(file: string, limits: ValidationLimits, folder?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `--max-old-space-size=${limits.memoryMb}`,
        ...nodeArgs(workerPath),
        file,
        String(limits.threads ?? 1),
        ...(folder ? [folder] : []),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '' } },
    );
    let stdout = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limits.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, code, signal, timedOut });
    });
  });
}

/**
 * Validate `file`; resolves with its signature or throws a catalog error with a clear reason.
 * `folder`: the uploaded model folder `file` lies in (external data is then read from it only).
 */
export async function validateModelFile(
  file: string,
  limits: ValidationLimits,
  folder?: string,
): Promise<ValidatedModel> {
  if (!folder && (await stat(file)).size <= IN_PROCESS_CHECK_BYTES) inspectModel(await readFile(file));
  const r = await runChild(file, limits, folder);
  if (r.timedOut) fail('invalid_model', `the model did not load within ${limits.timeoutMs} ms`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: { ok: boolean; code?: string; detail?: string } & Partial<ValidatedModel>;
  try {
    parsed = JSON.parse(line);
  } catch {
    return fail(
      'invalid_model',
      `the model crashed the loader (${r.signal ?? `exit ${r.code}`}), likely out of memory or malformed`,
    );
  }
  if (!parsed.ok) {
    const code = parsed.code && parsed.code in errorCatalog ? (parsed.code as ErrorCode) : 'invalid_model';
    fail(code, parsed.detail ?? 'the model was refused');
  }
  return {
    signature: parsed.signature!,
    producer: parsed.producer ?? '',
    opsets: parsed.opsets ?? [],
    nodeCount: parsed.nodeCount ?? 0,
    missingOps: parsed.missingOps ?? [],
    parameters: parsed.parameters,
    weightTypes: parsed.weightTypes,
  };
}
