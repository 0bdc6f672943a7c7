import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipBomb, type Listening, listening, postBytes, slowestReadyz } from './hardening-helpers';

/** RSS growth allowed during one attack (bytes): the bombs inflate to GiBs; budgets stop them at ~MiBs. */
const RSS_BOUND = 300 * 1024 * 1024;

describe('hardening: dataset uploads cannot exhaust the server', () => {
  let s: Listening;
  beforeAll(async () => {
    s = await listening({ datasetParseMemoryMb: 128 });
  });
  afterAll(async () => {
    await s.close();
  });

  const upload = (name: string, bytes: Uint8Array) =>
    postBytes(`${s.url}/api/v1/datasets?name=${name}`, bytes);

  /** One attack: a 4xx naming a limit and its setting, within `ms`, /readyz fast meanwhile, RSS bounded. */
  async function refused(name: string, bytes: Uint8Array, limit: RegExp, ms = 15_000) {
    const rss = process.memoryUsage().rss;
    const attack = upload(name, bytes);
    const readyz = await slowestReadyz(s.url, attack);
    const res = await attack;
    expect(res.status, JSON.stringify(res.body)).toBe(413);
    expect(res.body.detail).toMatch(limit);
    expect(res.body.detail).toMatch(/setting MAAS_[A-Z_]+\)$/);
    expect(res.ms).toBeLessThan(ms);
    expect(readyz).toBeLessThan(200);
    expect(process.memoryUsage().rss - rss).toBeLessThan(RSS_BOUND);
    // Nothing kept, and the server still serves.
    const list = await fetch(`${s.url}/api/v1/datasets`, {
      headers: { authorization: 'Bearer test-admin-key-0123456789' },
    });
    expect(JSON.stringify(await list.json())).not.toContain(`"${name}"`);
    return res;
  }

  it('a 2 MB gzipped CSV whose one field inflates to 2 GiB → fast 413 naming maxFieldBytes', async () => {
    const bomb = gzipBomb('text,label\nhello,', 2048);
    expect(bomb.length).toBeLessThan(3 * 1024 * 1024);
    const res = await refused('csvbomb', bomb, /longer than 1048576 characters \(limit maxFieldBytes/);
    expect(res.body.pointer).toBe('line 2, column 7');
  });

  it('gzipped JSONL and text whose one line inflates to 2 GiB → 413 naming maxLineBytes', async () => {
    await refused(
      'jsonlbomb',
      gzipBomb('{"text": "', 2048),
      /limit maxLineBytes, setting MAAS_MAX_LINE_BYTES/,
    );
    await refused('textbomb', gzipBomb('once upon a time ', 2048), /limit maxLineBytes/);
  });

  it('a gzip of honest-looking short rows past the ratio limit → 413 naming maxInflateRatio', async () => {
    const rows = Buffer.from('1,2\n'.repeat(4 * 1024 * 1024)); // 16 MiB → ≈ 16 KiB
    const bomb = Buffer.concat([gzipSync('a,b\n'), gzipSync(rows, { level: 9 })]);
    await refused('ratiobomb', bomb, /inflates more than 100× .*limit maxInflateRatio/);
  });

  it('the same CSV, gzipped honestly, is accepted', async () => {
    const csv = `x,label\n${Array.from({ length: 200 }, (_, i) => `${i % 7},${i % 2 ? 'a' : 'b'}`).join('\n')}\n`;
    const res = await upload('honest', gzipSync(csv));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ format: 'csv', rows: 200 });
  });
});
