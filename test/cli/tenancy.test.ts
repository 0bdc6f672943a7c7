/**
 * `maas serve` in a child process at log level debug, driven by the tenancy CLI: tenants, keys,
 * a limited key's burst, revocation, usage tables. Afterwards no raw key secret is in the server's
 * logs or its SQLite files.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { linearModel } from '../helpers/onnx-fixtures';
import { spawnServe } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

const ADMIN = 'tenancy-cli-admin-key-0123456789';

const serve = (dataDir: string) => spawnServe({ dataDir, adminKey: ADMIN, logLevel: 'debug' });

describe('tenancy CLI against maas serve', () => {
  let tmp: { dir: string; remove: () => Promise<void> };
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    tmp = await tempDir();
    server = await serve(join(tmp.dir, 'data'));
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await tmp.remove();
  });

  async function cli(args: string[], key = ADMIN, stdin = '') {
    let out = '';
    let err = '';
    const code = await main([...args, '--url', server.url, '--key', key], {
      out: (s) => {
        out += `${s}\n`;
      },
      err: (s) => {
        err += `${s}\n`;
      },
      env: {},
      stdin: async () => stdin,
    });
    return { code, out, err };
  }

  it('creates tenants and keys, enforces a limit, revokes, reports usage; no raw key in logs or db', async () => {
    expect((await cli(['tenants', 'create', 'acme', '--monthly-units', '1000'])).out).toContain(
      'created tenant acme (limits: 1000 units/month)',
    );
    const ls = await cli(['tenants', 'ls']);
    expect(ls.out).toMatch(/^TENANT\s+LIMITS\s+CREATED\n/);
    expect(ls.out).toMatch(/\nacme\s+1000 units\/month\s+\d{4}-\d{2}-\d{2}\n/);
    const made = await cli([
      'keys',
      'create',
      'ops',
      '--tenant',
      'acme',
      '--scopes',
      'manage',
      '--requests-per-minute',
      '3',
    ]);
    const raw = /^key: (maas_\S+)$/m.exec(made.out)?.[1] ?? '';
    const id = /created key (key_[0-9a-f]{16})/.exec(made.out)?.[1] ?? '';
    expect(raw).toMatch(/^maas_[0-9A-Za-z]{10}_[0-9A-Za-z]{32}$/);

    const file = join(tmp.dir, 'lin.onnx');
    await writeFile(file, linearModel(4, 3).bytes);
    expect((await cli(['models', 'push', 'lin', file], raw)).code).toBe(0);
    const request = JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
    });
    const calls = [];
    for (let i = 0; i < 4; i++) calls.push(await cli(['infer', 'lin'], raw, request));
    expect(calls.map((c) => c.code)).toEqual([0, 0, 0, 1]);
    expect(calls[3].err).toMatch(/rate limit exceeded.*HTTP 429/);

    const usage = await cli(['usage', '--by', 'model,key'], raw);
    expect(usage.out).toMatch(
      new RegExp(`^MODEL\\s+KEY\\s+REQUESTS\\s+UNITS\\s+ERRORS\\s+AVG MS\\nlin\\s+${id}\\s+3\\s+3\\s+0\\s`),
    );
    const keys = await cli(['keys', 'ls', '--tenant', 'acme']);
    expect(keys.out).toContain(`${id}  acme    ops   maas_${raw.slice(5, 15)}_…`);
    expect(keys.out).not.toContain(raw.slice(16));
    expect((await cli(['keys', 'revoke', id])).out).toContain(`revoked ${id} (ops, tenant acme)`);
    expect((await cli(['models', 'ls'], raw)).err).toContain('HTTP 401');

    const secret = raw.slice(16);
    expect(server.output()).not.toContain(secret);
    for (const f of ['maas.db', 'maas.db-wal']) {
      const bytes = await readFile(join(tmp.dir, 'data', f)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(secret)).toBe(false);
    }
  });
});
