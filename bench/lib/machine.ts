/** The header every result carries: machine, versions and thread settings, so a figure can be
 * reproduced or discounted. Load averages are taken at start and end because the machine is shared. */

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { torchEnv } from './spawn';

export interface MachineInfo {
  cpu: string;
  logicalCores: number;
  memoryGiB: number;
  os: string;
  node: string;
  packages: Record<string, string>;
  threads: Record<string, string>;
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  started: string;
  finished?: string;
}

const PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node'];

function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as {
      version?: string;
    };
    return json.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

export function machineInfo(): MachineInfo {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) packages[name] = packageVersion(name);
  const blas = torchEnv();
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    logicalCores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    packages,
    threads: {
      torch: '2 intra-op, 1 inter-op',
      'torch env': Object.entries(blas)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      maas: 'ORT 2 intra-op, 1 inter-op, sequential, intra-op spinning off, graph optimisation extended',
      'tfjs cpu': '1 (JS main thread)',
      'tfjs wasm': '1 (no worker threads in Node)',
    },
    loadAverageStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    started: new Date().toISOString(),
  };
}

export function closeMachineInfo(info: MachineInfo): MachineInfo {
  return {
    ...info,
    loadAverageEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
    finished: new Date().toISOString(),
  };
}
