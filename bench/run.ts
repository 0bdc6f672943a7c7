/** `npm run bench` runs every benchmark; `npm run bench -- train-mlp generate-gpt` runs those.
 * Options: --reps N (>= 5, default 5), --warmup-rounds N (default 1), --seconds S (each
 * contender's timed window per round, default 2), --out DIR (default bench/results), --list.
 * Writes DIR/<name>.md and DIR/<name>.json and prints the Markdown. */

import { benchmarks } from './benchmarks';
import { runBenchmark } from './lib/harness';
import { closeMachineInfo, machineInfo } from './lib/machine';
import { toMarkdown, writeReport } from './lib/report';
import { runProcess } from './lib/spawn';

interface Cli {
  names: string[];
  reps: number;
  warmupRounds: number;
  seconds: number;
  out: string;
  list: boolean;
}

function parseCli(argv: string[]): Cli {
  const cli: Cli = { names: [], reps: 5, warmupRounds: 1, seconds: 2, out: 'bench/results', list: false };
  const value = (i: number) => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${argv[i]} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reps') cli.reps = Number(value(i++));
    else if (arg === '--warmup-rounds') cli.warmupRounds = Number(value(i++));
    else if (arg === '--seconds') cli.seconds = Number(value(i++));
    else if (arg === '--out') cli.out = value(i++);
    else if (arg === '--list') cli.list = true;
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else cli.names.push(arg);
  }
  if (!Number.isInteger(cli.reps) || cli.reps < 5) throw new Error('--reps must be an integer >= 5');
  if (!(cli.seconds > 0)) throw new Error('--seconds must be > 0');
  return cli;
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.list) {
    for (const b of benchmarks.all()) console.log(`${b.name}\t${b.title}`);
    return;
  }
  const selected = cli.names.length > 0 ? cli.names.map((n) => benchmarks.get(n)) : benchmarks.all();
  const command = ['npm run bench --', ...process.argv.slice(2)].join(' ').replace(/ --$/, '');
  for (const bench of selected) {
    console.error(`${bench.name}: ${bench.title}`);
    const started = machineInfo();
    const report = await runBenchmark(bench, {
      reps: cli.reps,
      warmupRounds: cli.warmupRounds,
      minSeconds: cli.seconds,
      timeoutMs: 600_000,
      runProcess,
      log: (line) => console.error(line),
    });
    const machine = closeMachineInfo(started);
    const files = await writeReport(cli.out, report, machine, command);
    console.log(toMarkdown(report, machine, command));
    console.error(`wrote ${files.join(', ')}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
