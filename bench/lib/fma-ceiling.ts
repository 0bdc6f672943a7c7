/** The ceiling that GFLOP/s shares are reported against: this machine's fp32 FMA peak on 2 threads,
 * measured once per benchmark run with `fma-peak.c` (hosts differ: 226 and 412-485 GFLOP/s were
 * measured on two 2-core EPYC VMs) with AVX-512, else with AVX2 and FMA (a host without AVX-512).
 * Where it cannot be measured (no gcc, neither) the historical 230 is used and the report says it
 * was assumed. */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CEILING_GFLOPS } from './flops';
import { cpuHas, hasAvx512 } from './spawn';

export interface FmaCeiling {
  gflops: number;
  measured: boolean;
}

let cached: FmaCeiling | undefined;

export function fmaCeiling(): FmaCeiling {
  cached ??= measure() ?? { gflops: CEILING_GFLOPS, measured: false };
  return cached;
}

/** gcc's flags for the widest FMA this CPU has (fma-peak.c picks its vectors by them), or null. */
function vectorFlags(): string[] | null {
  if (hasAvx512()) return ['-mavx512f'];
  if (cpuHas('avx2') && cpuHas('fma')) return ['-mavx2', '-mfma'];
  return null;
}

function measure(): FmaCeiling | undefined {
  const flags = vectorFlags();
  if (flags === null) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fma-peak-'));
  try {
    const binary = join(dir, 'fma-peak');
    const source = fileURLToPath(new URL('./fma-peak.c', import.meta.url));
    execFileSync('gcc', ['-O3', '-funroll-all-loops', ...flags, '-pthread', '-o', binary, source]);
    // "2 thread(s): 412.5 GFLOP/s fp32 FMA (...)": best of three, as a peak is.
    const runs = [0, 1, 2].map(() =>
      Number(/([\d.]+) GFLOP\/s/.exec(execFileSync(binary, ['2']).toString())?.[1]),
    );
    const best = Math.max(...runs.filter(Number.isFinite));
    return Number.isFinite(best) && best > 0 ? { gflops: Math.round(best), measured: true } : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
