/**
 * gpt vs lstm-lm on held-out Moby Dick, side by side: the zoo's model sizes and optimiser, the same
 * split, steps and batch of windows, each tokenizer (characters or the zoo's BPE) for each family,
 * several seeds. Prints and writes bench/results/NAME.{json,md} (default NAME: lm-compare). Runs one model at a time
 * (2 cores); about 2 minutes per 1,500-step run on an idle machine.
 *
 *   node --import tsx bench/zoo/lm-compare.ts [--rows gpt-bpe,lstm-char] [--seeds 1,2,3]
 *     [--steps 1500] [--out bench/results] [--name lm-compare]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  loadProse,
  type ProseSplit,
  splitProse,
  type TrainedLanguageModel,
  trainGpt,
  trainLstmLm,
} from '../../src/models/language/index';
import { LANGUAGE_ZOO_SIZES } from '../../src/models/zoo/language';

type Trainer = (split: ProseSplit, seed: number, steps: number) => Promise<TrainedLanguageModel>;

const FULL = LANGUAGE_ZOO_SIZES.full;
const BPE = FULL.gpt.model.bpeVocab;
const train = (t: typeof FULL.gpt.train, seed: number, steps: number) => ({ ...t, steps, seed });

/** Each row: a family, its tokenizer and window; sizes and optimiser settings are the zoo's. */
const ROWS: Record<string, { what: string; run: Trainer }> = {
  'gpt-bpe': {
    what: `gpt, BPE ${BPE} (the zoo row), 64-token windows`,
    run: (s, seed, steps) => trainGpt(s, FULL.gpt.model, train(FULL.gpt.train, seed, steps)),
  },
  'gpt-char': {
    what: 'gpt, characters, 64-character windows',
    run: (s, seed, steps) =>
      trainGpt(s, { ...FULL.gpt.model, bpeVocab: undefined }, train(FULL.gpt.train, seed, steps)),
  },
  'lstm-char': {
    what: 'lstm-lm, characters (the zoo row), 64-character windows',
    run: (s, seed, steps) => trainLstmLm(s, FULL.lstm.model, train(FULL.lstm.train, seed, steps)),
  },
  'lstm-bpe': {
    what: `lstm-lm, the gpt's BPE ${BPE}, 64-token windows`,
    run: (s, seed, steps) =>
      trainLstmLm(s, { ...FULL.lstm.model, bpeVocab: BPE }, train(FULL.lstm.train, seed, steps)),
  },
  'lstm-char-128': {
    what: 'lstm-lm, characters, 128-character windows (as many characters per step as gpt-bpe)',
    run: (s, seed, steps) =>
      trainLstmLm(s, { ...FULL.lstm.model, seq: 128 }, train(FULL.lstm.train, seed, steps)),
  },
};

interface Run {
  row: string;
  seed: number;
  steps: number;
  bitsPerChar: number;
  unigramBitsPerChar: number;
  parameters: number;
  trainSeconds: number;
  cpuMsPerStep: number;
  loadAverage: number;
}

async function runOne(split: ProseSplit, row: string, seed: number, steps: number): Promise<Run> {
  const t = await ROWS[row].run(split, seed, steps);
  const r = t.result;
  return {
    row,
    seed,
    steps,
    bitsPerChar: r.validationBitsPerChar,
    unigramBitsPerChar: r.unigramBitsPerChar,
    parameters: r.parameters,
    trainSeconds: r.trainMs / 1000,
    cpuMsPerStep: r.cpuMsPerStep,
    loadAverage: os.loadavg()[0],
  };
}

const fmt = (x: number, d = 3) => x.toFixed(d);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function markdown(runs: Run[], command: string): string {
  const lines = [
    '# gpt vs lstm-lm: held-out bits per character (Moby Dick, last 10 %)',
    '',
    `\`${command}\` — ${new Date().toISOString()}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}.`,
    "Every row: the zoo's sizes and AdamW + warm-up + cosine schedule, batch 32 windows, the whole held-out split",
    'scored, bits/char = held-out nats ÷ ln 2 ÷ the characters the scored tokens decode to.',
    "CPU ms/step is process CPU time (both ORT threads) per step; wall seconds depend on the machine's load.",
    '',
    '| row | what | seeds | bits/char mean (min–max) | unigram | parameters | CPU ms/step | wall s (mean) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of [...new Set(runs.map((r) => r.row))]) {
    const rs = runs.filter((r) => r.row === row);
    const bpc = rs.map((r) => r.bitsPerChar);
    lines.push(
      `| ${row} | ${ROWS[row].what}, ${rs[0].steps} steps | ${rs.map((r) => r.seed).join(', ')} | ` +
        `${fmt(mean(bpc))} (${fmt(Math.min(...bpc))}–${fmt(Math.max(...bpc))}) | ${fmt(rs[0].unigramBitsPerChar)} | ` +
        `${rs[0].parameters.toLocaleString('en')} | ${fmt(mean(rs.map((r) => r.cpuMsPerStep)), 0)} | ` +
        `${fmt(mean(rs.map((r) => r.trainSeconds)), 0)} |`,
    );
  }
  lines.push('', '| row | seed | bits/char | train s | load 1 min |', '|---|---|---|---|---|');
  for (const r of runs)
    lines.push(
      `| ${r.row} | ${r.seed} | ${fmt(r.bitsPerChar, 4)} | ${fmt(r.trainSeconds, 0)} | ${fmt(r.loadAverage, 1)} |`,
    );
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: 'gpt-bpe,lstm-char,gpt-char,lstm-bpe' },
      seeds: { type: 'string', default: '1' },
      steps: { type: 'string', default: String(FULL.gpt.train.steps) },
      out: { type: 'string', default: 'bench/results' },
      name: { type: 'string', default: 'lm-compare' },
    },
  });
  const rows = values.rows.split(',');
  for (const r of rows)
    if (!ROWS[r]) throw new Error(`unknown row '${r}' (known: ${Object.keys(ROWS).join(', ')})`);
  const seeds = values.seeds.split(',').map(Number);
  const steps = Number(values.steps);
  const split = splitProse(await loadProse());
  const runs: Run[] = [];
  for (const seed of seeds)
    for (const row of rows) {
      const run = await runOne(split, row, seed, steps);
      runs.push(run);
      console.log(
        `${row} seed ${seed}: ${fmt(run.bitsPerChar, 4)} bits/char, ${fmt(run.trainSeconds, 0)} s, ${fmt(run.cpuMsPerStep, 0)} CPU ms/step`,
      );
    }
  const command = `node --import tsx bench/zoo/lm-compare.ts ${process.argv.slice(2).join(' ')}`.trim();
  const md = markdown(runs, command);
  console.log(`\n${md}`);
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, `${values.name}.json`), `${JSON.stringify({ command, runs }, null, 2)}\n`);
  await writeFile(join(values.out, `${values.name}.md`), md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
