/**
 * `maas train --follow` against a real server on a real socket: errors name the CLI flag, a
 * crashed trainer shows as a retry line and the job still succeeds, and the summary's example
 * `maas predict` command works as printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { ADMIN_KEY, type TestServer, testServer } from '../helpers/server';
import { lineCsv, uploadDataset } from '../training/helpers';

describe('maas train (CLI)', () => {
  let s: TestServer;
  let url: string;
  beforeAll(async () => {
    s = await testServer({ trainLeaseMs: 2000, trainThreads: 1, trainRetryBackoffMs: 200 });
    url = await s.app.listen({ port: 0, host: '127.0.0.1' });
    expect((await uploadDataset(s.app, 'line', lineCsv(1000))).statusCode).toBe(201);
  });
  afterAll(async () => {
    await s.close();
  });

  function cli(argv: string[]): { done: Promise<number>; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      out: (x) => out.push(x),
      err: (x) => err.push(x),
      env: {},
      stdin: async () => '',
    };
    return { done: main([...argv, '--url', url, '--key', ADMIN_KEY], io), out, err };
  }

  it('names the flag that sets a refused field', async () => {
    const base = ['train', '--family', 'mlp', '--dataset', 'line', '--model', 'm'];
    const noTarget = cli([...base, '--target', 'nope']);
    expect(await noTarget.done).toBe(1);
    expect(noTarget.err.join('\n')).toMatch(
      /target 'nope' is not a column .*\(set it with --target COLUMN\)/,
    );
    const badLr = cli([...base, '--learning-rate', '-1']);
    expect(await badLr.done).toBe(1);
    expect(badLr.err.join('\n')).toContain(
      'hyperparameters.learning_rate must be a number in [1e-7, 10] (set it with --learning-rate)',
    );
  });

  it('--follow shows a trainer crash as a retry, then the summary with a working predict example', async () => {
    const run = cli([
      'train',
      ...['--family', 'mlp', '--dataset', 'line', '--model', 'cli-line'],
      ...['--epochs', '3', '--batch-size', '8', '--checkpoint-every', '20', '--follow'],
    ]);
    // Wait for the job's first checkpoint, then SIGKILL only its trainer child.
    const id = await poll(() => /training (trn_\w+) queued/.exec(run.out.join('\n'))?.[1]);
    await poll(async () => (await s.platform.store.trainings.countEvents(id, 'checkpoint')) > 0 || null);
    process.kill((await poll(() => s.platform.trainings.trainerPid(id)))!, 'SIGKILL');
    expect(await run.done, run.err.join('\n')).toBe(0);
    const text = run.out.join('\n');
    expect(text).toMatch(
      /the trainer process exited unexpectedly \(SIGKILL\): retry 1 of 2 in 0\.[12] s, from checkpoint at step \d+/,
    );
    expect(text).toMatch(/resumed from checkpoint at step [1-9]\d*/);
    expect(text).toContain('status: succeeded');
    // The printed example is a real first row of the dataset without its target, numbers as numbers.
    const example = /maas predict cli-line --input '(.*)'/.exec(text)?.[1];
    expect(JSON.parse(example ?? 'null')).toEqual({
      x1: expect.any(Number),
      x2: expect.any(Number),
      colour: expect.stringMatching(/^(red|blue)$/),
    });
    const predict = cli(['predict', 'cli-line', '--input', example!]);
    expect(await predict.done, predict.err.join('\n')).toBe(0);
    expect(predict.out[0]).toMatch(/^(pos|neg)\t\((pos|neg) \d+\.\d%/);
  }, 90_000);
});

/** Poll `f` every 25 ms until it gives a value (≤ 30 s). */
async function poll<T>(f: () => Promise<T | null | undefined> | T | null | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await f();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
