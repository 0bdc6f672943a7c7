/**
 * `maas train --base` (fine-tuning an uploaded ONNX classifier) and `maas trainings follow`
 * against a real server on a real socket: the flags become the API's fields, the new version
 * names its base, `--family` beside `--base` is a usage error before any request, the API's
 * refusals read as they are, and following a finished job replays it to its summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIO, main } from '../../src/cli/main';
import { packTarGz } from '../../src/data/formats/tar-pack';
import { encodePng } from '../../src/models/common/image';
import { resnetLike } from '../engine/import-models';
import { ADMIN_KEY, auth, type TestServer, testServer, upload } from '../helpers/server';
import { uploadDataset, waitFor } from '../training/helpers';

/** 8×8 grey images in two folders (the labels): dark ones and light ones, none alike. */
async function tonesArchive(): Promise<Buffer> {
  const files: [string, Uint8Array][] = [];
  for (let k = 0; k < 24; k++)
    for (const [label, level] of [
      ['dark', 0.15],
      ['light', 0.8],
    ] as const) {
      const data = Float32Array.from({ length: 64 }, (_, i) => level + (((i * 7 + k * 13) % 10) - 5) / 100);
      files.push([
        `${label}/${k}.png`,
        new Uint8Array(encodePng({ width: 8, height: 8, channels: 1, data })),
      ]);
    }
  return packTarGz(files);
}

describe('maas train --base (CLI)', () => {
  let s: TestServer;
  let url: string;
  beforeAll(async () => {
    s = await testServer({ trainThreads: 1 });
    url = await s.app.listen({ port: 0, host: '127.0.0.1' });
    const labels = encodeURIComponent(JSON.stringify({ labels: ['a', 'b', 'c'] }));
    const up = await upload(s.app, 'shapes', resnetLike(), `?metadata=${labels}`);
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    expect((await uploadDataset(s.app, 'tones', await tonesArchive())).statusCode).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await s.close();
  });

  function cli(argv: string[]): { done: Promise<number>; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = { out: (x) => out.push(x), err: (x) => err.push(x), env: {}, stdin: async () => '' };
    return { done: main([...argv, '--url', url, '--key', ADMIN_KEY], io), out, err };
  }
  const trainingCount = async () =>
    (await s.app.inject({ method: 'GET', url: '/api/v1/trainings', headers: auth })).json().trainings.length;
  const job = async (id: string) => {
    const show = cli(['trainings', 'show', id]);
    expect(await show.done, show.err.join('\n')).toBe(0);
    return JSON.parse(show.out.join('\n'));
  };
  const small = ['--epochs', '1', '--batch-size', '8', '--seed', '1'];

  it('fine-tunes the uploaded model with --follow and registers a version whose lineage names the base', async () => {
    const run = cli([
      'train',
      ...['--base', 'shapes:1', '--dataset', 'tones', '--model', 'tones', '--train-last', '1'],
      ...small,
      '--follow',
    ]);
    expect(await run.done, run.err.join('\n')).toBe(0);
    const text = run.out.join('\n');
    const id = /training (trn_\w+) queued: onnx fine-tuning of shapes:1 on tones → model tones/.exec(
      text,
    )?.[1];
    expect(id, text).toBeDefined();
    expect(text).toContain('status: succeeded');
    expect(text).toMatch(/done in [\d.]+ s: validation accuracy [\d.]+%/);
    expect(text).toContain('registered tones version 1; try:');
    expect(text).toContain('maas predict tones --image FILE.png');
    // --train-last is the API's trainable_layers, nothing else was sent for it.
    expect((await job(id!)).hyperparameters).toMatchObject({
      base: 'shapes:1',
      trainable_layers: 1,
      trainable_parameters: [],
      replace_head: 'auto',
    });
    const version = await s.app.inject({
      method: 'GET',
      url: '/api/v1/models/tones/versions/1',
      headers: auth,
    });
    expect(version.json().metadata).toMatchObject({
      family: 'onnx',
      labels: ['dark', 'light'],
      lineage: { base: 'shapes:1', job: id },
    });
  }, 180_000);

  it('--train and --new-head become trainable_parameters and replace_head; trainings follow replays a finished job to its end', async () => {
    const run = cli([
      'train',
      ...['--base', 'shapes', '--dataset', 'tones', '--model', 'tones-head'],
      ...['--train', 'fc.weight,fc.bias', '--new-head', ...small],
    ]);
    expect(await run.done, run.err.join('\n')).toBe(0);
    const id = /training (trn_\w+) queued/.exec(run.out.join('\n'))?.[1];
    expect((await job(id!)).hyperparameters).toMatchObject({
      base: 'shapes:1',
      trainable_parameters: ['fc.weight', 'fc.bias'],
      replace_head: 'always',
    });
    const done = await waitFor(s.app, id!, undefined, 180_000);
    expect(done.status, done.error ?? '').toBe('succeeded');

    const follow = cli(['trainings', 'follow', id!]);
    expect(await follow.done, follow.err.join('\n')).toBe(0);
    const lines = follow.out;
    expect(lines[0]).toBe('status: queued');
    expect(lines).toContain('status: running');
    expect(lines.filter((l) => l === 'status: succeeded')).toHaveLength(1);
    expect(lines.at(-2)).toBe('registered tones-head version 1; try:');
    expect(lines.at(-1)).toBe('  maas predict tones-head --image FILE.png');
  }, 180_000);

  it('--family beside --base, and fine-tuning flags without a base, are usage errors before any request', async () => {
    const before = await trainingCount();
    const cases: [string[], RegExp][] = [
      [
        ['--family', 'cnn', '--base', 'shapes'],
        /^error: --family cnn and --base exclude each other: .* \(beside --base, --family may only name a fine-tuning family: onnx, lora\)/,
      ],
      [
        ['--family', 'cnn', '--train-last', '1'],
        /^error: --train-last is for fine-tuning: name the model to start from with --base/,
      ],
      [
        ['--base', 'shapes', '--train-last', '1', '--train', 'fc.weight'],
        /^error: --train-last N and --train PARAM,PARAM exclude each other/,
      ],
      [
        ['--dataset', 'tones'],
        /^error: name --family F \(train from scratch\) or --base NAME\[:VERSION\] \(fine-tune\)/,
      ],
      // An empty list would have trained every weight; a switch given a value must not turn it on.
      [['--base', 'shapes', '--train', ','], /^error: --train needs weight names/],
      [['--base', 'shapes', '--new-head=false'], /^error: --new-head is a switch: give it without a value/],
      // A flag and the JSON both saying what is trained: one would be silently ignored.
      [
        [
          '--base',
          'shapes',
          '--train-last',
          '2',
          '--hyperparameters',
          '{"trainable_parameters": ["fc.weight"]}',
        ],
        /^error: --train-last and --hyperparameters' trainable_parameters both say what is trained: give one/,
      ],
    ];
    for (const [flags, message] of cases) {
      const run = cli(['train', '--dataset', 'tones', '--model', 'x', ...flags]);
      expect(await run.done, flags.join(' ')).toBe(1);
      expect(run.err.join('\n')).toMatch(message);
    }
    expect(await trainingCount()).toBe(before);
  });

  it("passes the API's refusals through as they are, naming the flag that sets a hyperparameter", async () => {
    const missing = cli(['train', '--base', 'nope', '--dataset', 'tones', '--model', 'x']);
    expect(await missing.done).toBe(1);
    expect(missing.err[0]).toMatch(/^error: .*nope.* \(not_found, HTTP 404\)$/);
    const negative = cli([
      'train',
      '--base',
      'shapes',
      '--dataset',
      'tones',
      '--model',
      'x',
      '--train-last',
      '-1',
    ]);
    expect(await negative.done).toBe(1);
    expect(negative.err[0]).toMatch(
      /^error: hyperparameters\.trainable_layers must be .* \(set it with --train-last\) \(invalid_request, HTTP 400\)$/,
    );
  });
});
