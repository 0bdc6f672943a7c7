import { describe, expect, it } from 'vitest';
import { type Contender, parseOutput } from '../../bench/lib/contender';
import { cnnTrainFlops, gptTrainFlops, lstmTrainFlops, mlpTrainFlops } from '../../bench/lib/flops';
import { runBenchmark } from '../../bench/lib/harness';
import { closeMachineInfo, machineInfo } from '../../bench/lib/machine';
import { toMarkdown } from '../../bench/lib/report';
import { runProcess } from '../../bench/lib/spawn';
import { median, pairedRatios, summarize } from '../../bench/lib/stats';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const values = [5, 1, 4];
    expect(median(values)).toBe(4);
    expect(values).toEqual([5, 1, 4]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([3, 9, 1, 7, 5])).toEqual({ median: 5, min: 1, max: 9, n: 5 });
    expect(pairedRatios([2, 6], [1, 3, 5])).toEqual([2, 2]);
  });
});

describe('contender output', () => {
  it('reads the last JSON line and rejects incomplete ones', () => {
    const line = '{"steps_per_s":2,"samples_per_s":128,"loss_first":2.3,"loss_last":1,"flops_per_step":10}';
    expect(parseOutput(`a banner\n${line}\n`)).toMatchObject({ loss_last: 1, samples_per_s: 128 });
    expect(parseOutput('{"unsupported":"no kernel"}')).toEqual({ unsupported: 'no kernel' });
    expect(() => parseOutput('{"steps_per_s":2}')).toThrow(/samples_per_s/);
    expect(() => parseOutput('')).toThrow(/nothing/);
  });
});

describe('FLOP counts', () => {
  // Oracle: the figures bench/peers/torch_*.py computed independently for the same shapes.
  it('match the PyTorch peers', () => {
    expect(mlpTrainFlops({ batch: 64, inputs: 784, hidden: 256, classes: 10 })).toBe(103_219_200);
    expect(cnnTrainFlops({ batch: 32, size: 28, c1: 16, c2: 32, dense: 64, classes: 10 })).toBe(214_474_752);
    expect(lstmTrainFlops({ batch: 32, seq: 64, vocab: 65, embed: 64, hidden: 256 })).toBe(4_231_004_160);
    expect(gptTrainFlops({ batch: 16, context: 64, vocab: 65, d: 128, layers: 4 })).toBe(5_285_609_472);
  });
});

/** A real child process that prints a fixed result (node -e), standing in for a peer. */
function echoContender(name: string, result: object): Contender {
  return {
    name,
    label: name,
    spec: () => ({
      command: process.execPath,
      argv: ['-e', `console.log(${JSON.stringify(JSON.stringify(result))})`],
      env: {},
    }),
  };
}

describe('runBenchmark', () => {
  it('interleaves real child processes, skips unsupported and failed ones, and takes ratios', async () => {
    const result = (steps: number) => ({
      steps_per_s: steps,
      samples_per_s: steps * 4,
      loss_first: 2,
      loss_last: 1,
      flops_per_step: 1e9,
    });
    const failing: Contender = {
      name: 'broken',
      label: 'broken',
      spec: () => ({ command: process.execPath, argv: ['-e', 'process.exit(3)'], env: {} }),
    };
    const log: string[] = [];
    const report = await runBenchmark(
      {
        name: 'toy',
        title: 'toy',
        notes: [],
        metric: 'steps_per_s',
        shape: { batch: 4 },
        flops: () => 1e9,
        baseline: 'base',
        alsoAgainst: 'other',
        contenders: [
          echoContender('base', result(10)),
          echoContender('fast', result(25)),
          echoContender('other', result(20)),
          echoContender('none', { unsupported: 'no kernel' }),
          failing,
        ],
      },
      {
        reps: 5,
        warmupRounds: 1,
        minSeconds: 0.1,
        timeoutMs: 20_000,
        runProcess,
        log: (l) => log.push(l),
        ceiling: { gflops: 100, measured: true },
      },
    );
    const [base, fast, , none, broken] = report.contenders;
    expect(base.values).toEqual([10, 10, 10, 10, 10]);
    expect(fast.ratio).toBe(2.5);
    expect(fast.gflops).toBe(25);
    expect(fast.ceilingShare).toBe(0.25);
    // The second reference: every other measured row's ratio to it, in the notes.
    expect(report.notes).toContain('fast × other: 1.25× (per round 1.25–1.25).');
    expect(report.notes.some((n) => n.startsWith('base ×'))).toBe(false);
    expect(fast.samplesPerS?.median).toBe(100);
    expect(none.status).toBe('unsupported');
    expect(broken.status).toBe('failed');
    expect(broken.reason).toMatch(/exit 3/);
    // Asked once each and then left alone.
    expect(log.filter((l) => l.includes(' none:')).length).toBe(1);
    // The start rotates: the warm-up round begins with the first contender, rep 1 with the second.
    expect(log.findIndex((l) => l.startsWith('  rep 1 fast'))).toBeLessThan(
      log.findIndex((l) => l.startsWith('  rep 1 base')),
    );
  });
});

describe('task benchmark reports', () => {
  it('name the rates by their units and show no GFLOP/s for rows without a FLOP count', async () => {
    const report = await runBenchmark(
      {
        name: 'served-toy',
        title: 'served toy',
        notes: [],
        metric: 'samples_per_s',
        units: { step: 'call', sample: 'text' },
        shape: {},
        flops: () => 0,
        baseline: 'runtime',
        contenders: [
          echoContender('runtime', {
            steps_per_s: 100,
            samples_per_s: 3200,
            loss_first: 0,
            loss_last: 0,
            flops_per_step: 0,
          }),
          echoContender('served', {
            steps_per_s: 20,
            samples_per_s: 640,
            loss_first: 0,
            loss_last: 0,
            flops_per_step: 0,
          }),
        ],
      },
      {
        reps: 1,
        warmupRounds: 0,
        minSeconds: 0.1,
        timeoutMs: 20_000,
        runProcess,
        log: () => {},
        ceiling: { gflops: 230, measured: false },
      },
    );
    const machine = machineInfo();
    const md = toMarkdown(report, closeMachineInfo(machine), 'npm run bench -- served-toy');
    expect(md).toContain('| contender | texts/s | calls/s | × runtime | GFLOP/s (% of 230, assumed) |');
    // texts/s first, then calls/s; ratio of the texts/s medians; a dash for GFLOP/s and loss.
    expect(md).toContain('| served | 640 (640–640) | 20.0 (20.0–20.0) | 0.20× (0.20–0.20) | — | — |');
  });
});
