/**
 * Running a speech engine as a child process, safely: an executable path and an argument array (no
 * shell, so text can never become a command), input on stdin, a wall-clock limit after which the
 * process is killed, and a cap on the bytes it may write. Error messages name the engine, never the
 * paths or the engine's stderr (which can carry file names); stderr is returned for logs.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { fail, MaasError } from '../../common/errors';

export interface ProcessLimits {
  /** Kill the process after this long, ms. */
  timeoutMs: number;
  /** Kill the process once stdout passes this many bytes. */
  maxOutputBytes: number;
}

export interface ProcessRequest extends ProcessLimits {
  /** Written to stdin, then stdin is closed. */
  stdin?: string;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Engine name for error messages, e.g. 'espeak-ng'. */
  label: string;
  /** Aborting (a client that went away) kills the process and rejects with client_closed. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  stdout: Buffer;
  /** The first 4 KB of stderr, for logs only. */
  stderr: string;
}

const MAX_STDERR_BYTES = 4096;

/** Resolve after the process exits 0; reject with a catalog error otherwise. */
export function runProcess(
  file: string,
  args: readonly string[],
  req: ProcessRequest,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (req.signal?.aborted) {
      reject(new MaasError('client_closed', `${req.label} request was cancelled`));
      return;
    }
    const child = spawn(file, [...args], { shell: false, env: req.env, cwd: req.cwd, stdio: 'pipe' });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: MaasError | undefined;
    const stop = (error: MaasError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => stop(new MaasError('deadline_exceeded', `${req.label} took longer than ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    const onAbort = () => stop(new MaasError('client_closed', `${req.label} request was cancelled`));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > req.maxOutputBytes) {
        stop(new MaasError('inference_failed', `${req.label} output exceeds ${req.maxOutputBytes} bytes`));
      } else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR_BYTES) stderr += chunk.toString('utf8').slice(0, MAX_STDERR_BYTES);
    });
    // The engine may exit before reading all of stdin (EPIPE): the exit code tells what happened.
    child.stdin.on('error', () => {});
    let settled = false;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      reject(
        err.code === 'ENOENT' || err.code === 'EACCES'
          ? new MaasError('engine_unavailable', `${req.label} could not be started`)
          : new MaasError('inference_failed', `${req.label} could not be started (${err.code ?? 'error'})`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      if (failure) reject(failure);
      else if (code !== 0) {
        reject(new MaasError('inference_failed', `${req.label} failed (exit ${code ?? signal})`));
      } else resolve({ stdout: Buffer.concat(out), stderr });
    });
    child.stdin.end(req.stdin ?? '');
  });
}

/**
 * The absolute path of an executable named `name` on a PATH string, or null. Empty and relative
 * PATH entries are skipped: they mean "the current directory", which a server must not trust.
 */
export async function findExecutable(name: string, pathEnv: string | undefined): Promise<string | null> {
  if (name.includes('/') || name.includes('\\')) fail('internal', 'executable names are bare names');
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}
