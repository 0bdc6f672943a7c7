/**
 * The CLI's own rules, without a server: `--flag` alone is true, every flag a verb takes is in
 * its `--help`, a misspelt flag or verb gets "did you mean", a missing upload file is named.
 */
import { describe, expect, it } from 'vitest';
import { FLAG_DOCS, VERB_FLAGS } from '../../src/cli/flags';
import { type CliIO, main, parseArgs } from '../../src/cli/main';
import { didYouMean, editDistance, nearest } from '../../src/common/suggest';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    out: (x) => out.push(x),
    err: (x) => err.push(x),
    // No server answers here: a verb that got past its checks would fail to connect.
    env: { MAAS_URL: 'http://127.0.0.1:9', MAAS_KEY: 'k' },
    stdin: async () => '',
  };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('suggestions', () => {
  it('edit distance counts insertions, deletions and substitutions', () => {
    expect(editDistance('fruitt', 'fruit')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('names only close names, closest first', () => {
    expect(nearest('fruitt', ['fruit', 'mnist-cnn', 'gpt'])).toEqual(['fruit']);
    expect(nearest('gpt-4o-mini', ['fruit', 'gpt', 'word2vec'])).toEqual([]);
    expect(didYouMean('--epoch', ['--epochs', '--seed'], '')).toBe('did you mean --epochs?');
    expect(didYouMean('colour', ['color', 'colours'])).toBe("did you mean 'color' or 'colours'?");
  });
});

describe('maas argument parsing', () => {
  it('a flag alone (last, or before another flag) means true; switches never take a word', () => {
    expect(parseArgs(['serve', '--metrics-public', '--port', '0']).flags).toEqual({
      '--metrics-public': 'true',
      '--port': '0',
    });
    expect(parseArgs(['x', '--follow', 'name']).positional).toEqual(['x', 'name']);
    expect(parseArgs(['x', '--a=b', '--last']).flags).toEqual({ '--a': 'b', '--last': 'true' });
  });

  it('every flag a verb takes is documented and listed by `maas VERB --help`', async () => {
    for (const [form, flags] of Object.entries(VERB_FLAGS)) {
      const verb = form.split(' ')[0];
      const help = await cli([verb, '--help']);
      expect(help.code).toBe(0);
      for (const f of flags) {
        expect(FLAG_DOCS[f], `${f} has help text`).toBeTruthy();
        expect(help.out, `maas ${verb} --help lists ${f}`).toContain(`  ${f} `);
      }
    }
  });

  it('`maas train --help` lists every hyperparameter of every family as a flag', async () => {
    const help = (await cli(['train', '--help'])).out;
    for (const flag of ['--epochs N', '--hidden N,N', '--vocab-size N', '--lr-schedule NAME'])
      expect(help).toContain(flag);
  });

  it('`maas serve --help` lists the options with their environment variables and defaults', async () => {
    const help = (await cli(['serve', '--help'])).out;
    expect(help).toMatch(/--port\s+MAAS_PORT\s+.*\(default 8080\)/);
  });

  it('a misspelt flag, verb or hyperparameter gets "did you mean"', async () => {
    const flag = await cli(['models', 'ls', '--scopes', 'own']);
    expect(flag.code).toBe(1);
    expect(flag.err).toContain('unknown option --scopes for maas models ls (did you mean --scope?)');
    const verb = await cli(['modles', 'ls']);
    expect(verb.err).toContain('unknown command: modles (did you mean models?)');
    const hp = await cli(['train', '--family', 'mlp', '--dataset', 'd', '--model', 'm', '--epoch', '3']);
    expect(hp.err).toContain('unknown option --epoch for maas train --family mlp (did you mean --epochs?)');
    const serve = await cli(['serve', '--prot', '0']);
    expect(serve.err).toContain('unknown option --prot (did you mean --port?)');
  });

  it('an upload of a missing file names the file', async () => {
    const r = await cli(['models', 'push', 'x', 'nothere.onnx']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot read nothere.onnx: no such file');
  });
});
