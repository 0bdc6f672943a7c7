/** Writes a benchmark's result as Markdown (for people and docs/benchmarks.md) and JSON (for tools). */

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchReport, ContenderReport } from './harness';
import type { MachineInfo } from './machine';
import { type Summary, summarize } from './stats';

const f = (x: number, digits = 1) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(digits) : x.toPrecision(3);
const spread = (s: Summary) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

function versionOf(row: ContenderReport): string {
  const v = row.last?.version;
  return typeof v === 'string' ? v : '';
}

/** The metric column, then the other rate: samples/s, or steps (requests)/s when the metric is samples/s. */
function rates(report: BenchReport): { metric: string; other: string } {
  const { step, sample } = report.units;
  if (report.metric === 'samples_per_s') return { metric: `${sample}s/s`, other: `${step}s/s` };
  const metric = report.metric === 'steps_per_s' ? `${step}s/s` : 'tokens/s';
  return { metric, other: `${sample}s/s` };
}

function rowLine(row: ContenderReport, report: BenchReport): string {
  const baseline = report.baseline;
  if (row.status !== 'ok' || !row.metric) {
    const what = row.status === 'unsupported' ? 'unsupported' : 'FAILED';
    const reason = (row.reason ?? '').split('\n')[0].slice(0, 160);
    return `| ${row.label} | ${what}: ${reason} | | | | | | |`;
  }
  const ratioCell =
    row.name === baseline
      ? '1 (baseline)'
      : row.ratio !== undefined
        ? `${row.ratio.toFixed(2)}× (${row.pairedRatio!.min.toFixed(2)}–${row.pairedRatio!.max.toFixed(2)})`
        : '';
  // Serving rows with no FLOP count (a table lookup, a PNG) show a dash rather than 0.
  const gflops =
    row.gflops !== undefined && row.flopsPerStep > 0
      ? `${f(row.gflops)} (${(100 * row.ceilingShare!).toFixed(1)}%)`
      : '—';
  const other =
    report.metric === 'samples_per_s' ? spread(summarize(row.stepsPerS)) : spread(row.samplesPerS!);
  // Generation peers train nothing and report 0 → 0: show a dash rather than a loss.
  const trained = row.last && (row.last.loss_first !== 0 || row.last.loss_last !== 0);
  const loss = trained ? `${row.last!.loss_first.toFixed(3)} → ${row.last!.loss_last.toFixed(3)}` : '—';
  const load = row.loadAverage.length > 0 ? spread(summarize(row.loadAverage)) : '';
  return `| ${row.label} | ${spread(row.metric)} | ${other} | ${ratioCell} | ${gflops} | ${loss} | ${load} | ${versionOf(row)} |`;
}

/** The FMA peak the shares are of, marked when it was not measured on this machine. */
function ceilingLabel(report: BenchReport): string {
  return report.ceiling.measured ? `${report.ceiling.gflops}` : `${report.ceiling.gflops}, assumed`;
}

export function toMarkdown(report: BenchReport, machine: MachineInfo, command: string): string {
  const rate = rates(report);
  const lines = [
    `# ${report.title}`,
    '',
    `\`${command}\` — ${machine.started}. ${report.reps} measured rounds after ${report.warmupRounds} warm-up`,
    `round(s), contenders interleaved (each a fresh child process timing ≥ ${report.minSeconds} s after its own`,
    'warm-up steps). Cells: median (min–max). Ratio: median over the baseline, (min–max of per-round ratios).',
    'Load 1 min: the load average after each repetition (2 cores: above 2, the figures are squeezed).',
    '',
    `Shape: ${Object.entries(report.shape)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    '',
    `| contender | ${rate.metric} | ${rate.other} | × ${report.baseline} | GFLOP/s (% of ${ceilingLabel(report)}) | loss first → last | load 1 min | version |`,
    '|---|---|---|---|---|---|---|---|',
    ...report.contenders.map((row) => rowLine(row, report)),
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
    '## Machine',
    `- CPU: ${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}`,
    `- Packages: ${Object.entries(machine.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- Threads: ${Object.entries(machine.threads)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
    `- Load average (1, 5, 15 min) at start ${machine.loadAverageStart.join(', ')}, at end ${(machine.loadAverageEnd ?? []).join(', ')}`,
    '',
  ];
  return lines.join('\n');
}

export async function writeReport(
  dir: string,
  report: BenchReport,
  machine: MachineInfo,
  command: string,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const md = path.join(dir, `${report.name}.md`);
  const json = path.join(dir, `${report.name}.json`);
  await writeFile(md, toMarkdown(report, machine, command));
  await writeFile(json, `${JSON.stringify({ command, machine, ...report }, null, 2)}\n`);
  return [md, json];
}
