/**
 * The walk-through reader (./walkthrough-blocks.ts) and the inputs the walk-throughs use
 * (examples/): what counts as a command, its output and a mark; what the tolerant comparison lets
 * differ and what it does not; the shipped files are what the docs say they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/index';
import { linearModel } from '../helpers/onnx-fixtures';
import { REPO_ROOT } from '../helpers/serve';
import { consoleBlocks, expectedStatus, missingLines, normalizeLine } from './walkthrough-blocks';

const FENCE = '```';

describe('consoleBlocks', () => {
  it('reads commands, continuation lines, output and marks; ignores other blocks', () => {
    const md = [
      `${FENCE}sh`,
      '$ not a console block',
      FENCE,
      '<!-- walkthrough: server -->',
      `${FENCE}console`,
      '$ maas serve --data-dir /tmp/x',
      FENCE,
      '',
      '<!-- walkthrough: skip needs the full zoo -->',
      `${FENCE}console`,
      '$ maas zoo ls',
      FENCE,
      '- a list item:',
      `  ${FENCE}console`,
      '  $ curl -s \\',
      '      $MAAS_URL/readyz',
      '  {"status":"ready"}',
      `  ${FENCE}`,
      '<!-- walkthrough: needs postgres -->',
      `${FENCE}console`,
      '$ maas migrate',
      FENCE,
    ].join('\n');
    const blocks = consoleBlocks('x.md', md);
    expect(blocks.map((b) => [b.line, b.mark])).toEqual([
      [5, { kind: 'server' }],
      [10, { kind: 'skip', reason: 'needs the full zoo' }],
      [14, { kind: 'run' }],
      [20, { kind: 'run', needs: 'postgres' }],
    ]);
    expect(blocks[2].commands).toEqual([
      { line: 15, text: 'curl -s \\\n    $MAAS_URL/readyz', expected: ['{"status":"ready"}'] },
    ]);
  });
});

describe('a command whose quoted string spans lines', () => {
  it('goes on until the quote closes; quotes in a comment quote nothing', () => {
    const md = [
      `${FENCE}console`,
      "$ node -e 'const a = 1;",
      "  console.log(a)' > out.txt",
      '$ curl -d \'{"a": 1,',
      '    "b": "it\'\'s"}\' $URL',
      '{"ok":true}',
      "$ echo hi   # it's a comment",
      'hi',
      FENCE,
    ].join('\n');
    expect(consoleBlocks('x.md', md)[0].commands).toEqual([
      { line: 2, text: "node -e 'const a = 1;\n  console.log(a)' > out.txt", expected: [] },
      { line: 4, text: 'curl -d \'{"a": 1,\n    "b": "it\'\'s"}\' $URL', expected: ['{"ok":true}'] },
      { line: 7, text: "echo hi   # it's a comment", expected: ['hi'] },
    ]);
  });
});

describe('the tolerant comparison', () => {
  it('lets numbers, ids, keys and column widths differ', () => {
    expect(normalizeLine('key_4fd48f3f9231cba9  tenant-a  maas_bbbgtqkhSF_…  5 req/min')).toBe(
      normalizeLine('key_81948a2d590fe7e5 tenant-a maas_Lp6abV4CA9_… 5 req/min'),
    );
    expect(missingLines(['1\t(1 59.8%, 0 40.2%)'], 'warning: x\n0\t(0 72.5%, 1 27.5%)\n')).toEqual([]);
    expect(normalizeLine('"model":"ft-text-cnn-weather-655cff7e"')).toBe(
      normalizeLine('"model":"ft-text-cnn-weather-b1e2f0a3"'),
    );
  });

  it('does not let words, JSON fields or the order change', () => {
    expect(missingLines(['{"status":"ready"}'], '{"status":"ready","redis":null}')).toEqual([
      '{"status":"ready"}',
    ]);
    expect(missingLines(['error: model not found'], 'error: model has no version')).toHaveLength(1);
    expect(missingLines(['a 1', 'b 2'], 'b 2\na 1')).toEqual(['b 2']);
    expect(normalizeLine('decade12 deadbeef')).not.toBe(normalizeLine('decade34 feedbeef'));
  });

  it('skips elisions and progress lines', () => {
    expect(missingLines(['…', '76%  epoch 7/8  ETA 0s', 'done'], 'done\n')).toEqual([]);
  });

  it('expects failure from output that starts with error:, success from output without one', () => {
    const cmd = (expected: string[]) => ({ line: 1, text: 'x', expected });
    expect(expectedStatus(cmd(['error: nope', 'a hint']))).toBe('fails');
    expect(expectedStatus(cmd(['{"ok":1}', 'error: rate limit exceeded']))).toBe('either');
    expect(expectedStatus(cmd(['fine']))).toBe('succeeds');
  });
});

describe('examples/', () => {
  const file = (name: string) => readFileSync(join(REPO_ROOT, 'examples', name));

  it('linear.onnx is the 4 → 3 linear layer of the tests, linear-request.json one row for it', () => {
    expect(new Uint8Array(file('linear.onnx'))).toEqual(linearModel(4, 3).bytes);
    const req = JSON.parse(file('linear-request.json').toString());
    expect(req.inputs[0]).toMatchObject({ name: 'x', shape: [1, 4], datatype: 'FP32' });
  });

  it('vad-request.json holds 512 samples at 16 kHz and zero state', () => {
    const inputs = JSON.parse(file('vad-request.json').toString()).inputs as {
      name: string;
      data: number[];
    }[];
    expect(inputs.map((i) => [i.name, i.data.length])).toEqual([
      ['input', 512],
      ['sr', 1],
      ['h', 128],
      ['c', 128],
    ]);
    expect(inputs[1].data).toEqual([16000]);
  });

  it('digits/N.png are ten 28×28 grey digits', () => {
    for (let d = 0; d < 10; d++) {
      const img = decodeImage(file(`digits/${d}.png`), `digits/${d}.png`);
      expect([img.width, img.height]).toEqual([28, 28]);
    }
  });
});
