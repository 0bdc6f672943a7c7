/**
 * `maas zoo train --only cppn` into a temp data folder (in-process, no server), then a real server
 * on that folder serves `zoo~cppn` to a non-admin tenant's key through the OpenAI images route,
 * and `maas zoo ls` shows it installed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve';
import { main } from '../../src/cli/main';
import { decodePng } from '../../src/models/common/image';
import { loadConfig } from '../../src/platform/config';
import { tempDir } from '../helpers/tmp';

const ADMIN = 'zoo-cli-admin-key-0123456789';

async function cli(args: string[], dataDir: string) {
  let out = '';
  let err = '';
  // Port 1: no server answers there, so `zoo ls` reads the data folder.
  const url = args[1] === 'ls' ? ['--url', 'http://127.0.0.1:1'] : [];
  const code = await main([...args, ...url, '--data-dir', dataDir], {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
    env: { MAAS_ADMIN_KEY: ADMIN },
    stdin: async () => '',
  });
  return { code, out, err };
}

describe('maas zoo', () => {
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

  it('trains cppn into the data folder; a server then draws zoo~cppn for another tenant', async () => {
    const before = await cli(['zoo', 'ls'], dataDir);
    expect(before.code).toBe(0);
    expect(before.out).toMatch(/^cppn\tcppn\tmissing\t-\t/m);

    const trained = await cli(['zoo', 'train', '--only', 'cppn'], dataDir);
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
    expect(trained.out).toContain('installed zoo~cppn version 1');
    expect(trained.out).toMatch(/^cppn\tcppn\tready\t1\tonnx_bytes\t\d+\t-\t-\t\d+\.\d\t-$/m);
    // Seeded: a second run reproduces the same bytes and keeps version 1.
    const again = await cli(['zoo', 'train', '--only', 'cppn'], dataDir);
    expect(again.out).toContain('unchanged: zoo~cppn version 1');

    server = await startServer(
      loadConfig(
        {},
        {},
        { dataDir, adminKey: ADMIN, port: 0, host: '127.0.0.1', logLevel: 'silent', zoo: 'off' },
      ),
      () => {},
    );
    const api = (path: string, key: string, body: unknown) =>
      fetch(`${server?.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await api('/api/v1/tenants', ADMIN, { name: 'acme' })).status).toBe(201);
    const minted = await api('/api/v1/keys', ADMIN, { tenant: 'acme', name: 'app', scopes: ['infer'] });
    expect(minted.status).toBe(201);
    const { key } = (await minted.json()) as { key: string };

    const res = await api('/v1/images/generations', key, {
      model: 'zoo~cppn',
      prompt: 'swirls',
      n: 2,
      size: '96x64',
      response_format: 'b64_json',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { b64_json: string }[] };
    expect(body.data).toHaveLength(2);
    const imgs = body.data.map((d) => decodePng(Buffer.from(d.b64_json, 'base64')));
    for (const img of imgs) expect([img.width, img.height]).toEqual([96, 64]);
    expect(Buffer.from(imgs[0].data).equals(Buffer.from(imgs[1].data))).toBe(false);
    // Another tenant's PRIVATE model under the same addressing stays hidden.
    const missing = await api('/v1/images/generations', key, { model: 'zoo~nothing', prompt: 'x' });
    expect(missing.status).toBe(404);
    await server.stop();
    server = undefined;

    const listed = await cli(['zoo', 'ls'], dataDir);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^cppn\tcppn\tready\t1\tonnx_bytes\t\d+\t-\t-\t\d+\.\d\t-$/m);
    expect(listed.out).toMatch(/^mnist-cnn\tcnn\tmissing\t-\t/m);
    expect(listed.out).toMatch(/^image-gen\timage-gen\tmissing\t-\t/m);
  }, 30_000);
});
