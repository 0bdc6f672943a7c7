/**
 * The `spam-cnn` zoo row at quick scale through the real CLI (`maas zoo train --only spam-cnn
 * --quick` into a temp data folder), then served by a real server to another tenant's key:
 * `/api/v1/models/zoo~spam-cnn/predict` and `/classify` take raw text and agree with each other,
 * and `maas classify zoo~spam-cnn ...` prints the same labels.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve';
import { main } from '../../src/cli/main';
import { loadConfig } from '../../src/platform/config';
import { tempDir } from '../helpers/tmp';

const ADMIN = 'spam-cnn-admin-key-0123456789';
const TEXTS = [
  'Subject: FREE money!!! Click here to claim your cash prize now, limited offer, act now $$$',
  'Subject: Re: patch for the build script\n\nThanks, I applied your patch and the tests pass on my machine.',
];

type Prediction = { label: string; probabilities: Record<string, number> };

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    env: { MAAS_ADMIN_KEY: ADMIN, ...env },
    stdin: async () => '',
  });
  return { code, out, err };
}

describe('zoo spam-cnn', () => {
  let tmp: { dir: string; remove: () => Promise<void> };
  let dataDir: string;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    tmp = await tempDir();
    dataDir = join(tmp.dir, 'data');
  });
  afterAll(async () => {
    await server?.stop();
    await tmp.remove();
  });

  it('trains from the built-in emails and classifies raw text over predict, classify and the CLI', async () => {
    const trained = await cli(['zoo', 'train', '--only', 'spam-cnn', '--quick', '--data-dir', dataDir]);
    expect(trained.err).toEqual([]);
    expect(trained.code).toBe(0);
    expect(trained.out).toContain('  spam-cnn: 4837 training emails, 1209 held out');
    const row = trained.out.find((l) => l.startsWith('spam-cnn\t'))?.split('\t');
    expect(row?.slice(0, 5)).toEqual(['spam-cnn', 'text-cnn', 'ready', '1', 'heldout_accuracy']);
    // One quick epoch already separates most emails (the full row reaches ≈ 98 %).
    expect(Number(row?.[5])).toBeGreaterThan(0.85);
    expect(row?.[6]).toBe('>= 0.9700');

    server = await startServer(
      loadConfig({}, {}, { dataDir, adminKey: ADMIN, port: 0, host: '127.0.0.1', logLevel: 'silent' }),
      () => {},
    );
    const api = (path: string, key: string, body: unknown) =>
      fetch(`${server?.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await api('/api/v1/tenants', ADMIN, { name: 'mailer' })).status).toBe(201);
    const minted = await api('/api/v1/keys', ADMIN, { tenant: 'mailer', name: 'app', scopes: ['infer'] });
    const { key } = (await minted.json()) as { key: string };

    const predicted = await api('/api/v1/models/zoo~spam-cnn/predict', key, { inputs: TEXTS });
    expect(predicted.status).toBe(200);
    const p = ((await predicted.json()) as { predictions: Prediction[] }).predictions;
    const classified = await api('/api/v1/models/zoo~spam-cnn/classify', key, { inputs: TEXTS });
    expect(classified.status).toBe(200);
    const c = ((await classified.json()) as { predictions: Prediction[] }).predictions;
    expect(c).toEqual(p);
    for (const pred of c) {
      expect(Object.keys(pred.probabilities).sort()).toEqual(['ham', 'spam']);
      expect(pred.probabilities.ham + pred.probabilities.spam).toBeCloseTo(1, 4);
      const best = pred.probabilities.spam > pred.probabilities.ham ? 'spam' : 'ham';
      expect(pred.label).toBe(best);
    }
    // A number is not a text: 400 naming the input.
    const bad = await api('/api/v1/models/zoo~spam-cnn/classify', key, { inputs: [42] });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('inputs[0]');

    const printed = await cli(['classify', 'zoo~spam-cnn', ...TEXTS, '--url', server.url, '--key', key]);
    expect(printed.code).toBe(0);
    expect(printed.out.map((l) => l.split('\t').at(-2))).toEqual(c.map((x) => x.label));
  }, 120_000);
});
