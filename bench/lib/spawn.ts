/** Building and running contender processes. */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type ContenderOutput, type ProcessSpec, parseOutput, type ShapeArgs } from './contender';

export const PYTHON = '/usr/bin/python3';

/** The environment of every PyTorch peer.
 * - OPENBLAS_NUM_THREADS=1: torch runs 2 intra-op threads; a second 2-thread pool in OpenBLAS
 *   would oversubscribe the 2 cores (docs/benchmarks.md).
 * - OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines: Debian's OpenBLAS 0.3.21 does not recognise
 *   Zen 4 and falls back to its AVX2 "Haswell" kernels (measured here: MLP 385 steps/s, 634 with the
 *   AVX-512 kernels). We compare against PyTorch at its best on this machine, not a handicapped one.
 * - OMP_WAIT_POLICY=PASSIVE: on this shared machine (load average 5-10 on 2 cores while others run
 *   their tests), libgomp's spin-waiting made 2-thread torch collapse: MLP 32-42 steps/s instead of
 *   650-890 with passive waiting or 1 thread, measured back to back; CNN 2-7 vs 14-21 steps/s. */
export function torchEnv(): Record<string, string> {
  const env: Record<string, string> = { OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
  if (hasAvx512()) env.OPENBLAS_CORETYPE = 'SkylakeX';
  return env;
}

let cpuinfo: string | undefined;
/** Whether this CPU has a feature flag of /proc/cpuinfo (read once; false where it cannot be read). */
export function cpuHas(flag: string): boolean {
  if (cpuinfo === undefined) {
    try {
      // Synchronous read of a small procfs file, once per run.
      cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      cpuinfo = '';
    }
  }
  return new RegExp(`\\b${flag}\\b`).test(cpuinfo);
}

/** Whether this CPU has AVX-512. */
export const hasAvx512 = (): boolean => cpuHas('avx512f');

/** A Python peer: `/usr/bin/python3 bench/peers/<script> --name value ...`. */
export function pythonSpec(script: string): (args: ShapeArgs) => ProcessSpec {
  return (args) => ({
    command: PYTHON,
    argv: [`bench/peers/${script}`, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])],
    env: torchEnv(),
  });
}

/** A TypeScript contender module (exports run(args)), run through bench/lib/child.ts. */
export function moduleSpec(modulePath: string): (args: ShapeArgs) => ProcessSpec {
  return (args) => ({
    command: process.execPath,
    argv: ['--import', 'tsx', 'bench/lib/child.ts', modulePath, JSON.stringify(args)],
    env: {},
  });
}

/** Runs one contender to completion (cwd = repository root) and parses its JSON line. */
export function runProcess(spec: ProcessSpec, timeoutMs: number): Promise<ContenderOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.command, spec.argv, {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = signal ? `killed by ${signal} (timeout ${timeoutMs} ms?)` : `exit ${code}`;
        reject(new Error(`${spec.argv.join(' ').slice(0, 160)}: ${why}\n${stderr.slice(-1500)}`));
        return;
      }
      try {
        resolve(parseOutput(stdout));
      } catch (error) {
        reject(error);
      }
    });
  });
}
