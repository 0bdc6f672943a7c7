import type { FastifyInstance } from 'fastify';
import { type BuildOptions, buildServer } from '../../src/api/server';
import { type ConfigKey, loadConfig } from '../../src/platform/config';
import { openPlatform, type Platform } from '../../src/platform/platform';
import { startRole } from '../../src/platform/roles';
import { tempDir } from './tmp';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const auth = { authorization: `Bearer ${ADMIN_KEY}` };

export interface TestServer {
  app: FastifyInstance;
  platform: Platform;
  dataDir: string;
  state: { draining: boolean };
  close(): Promise<void>;
}

/** A real platform (SQLite, artifacts, ORT) in a temp folder, with a fastify app for inject(). */
export async function testServer(
  overrides: Partial<Record<ConfigKey, unknown>> = {},
  options: BuildOptions = {},
): Promise<TestServer> {
  const tmp = await tempDir();
  const config = loadConfig(
    {},
    {},
    {
      dataDir: tmp.dir,
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      port: 0,
      validateTimeoutMs: 20_000,
      validateMemoryMb: 256,
      // Never train the zoo by accident (only `maas serve` starts it, but say so here too).
      zoo: 'off',
      ...overrides,
    },
  );
  const platform = await openPlatform(config);
  const background = await startRole(platform, () => {});
  const { app, state } = buildServer(platform, undefined, options);
  await app.ready();
  return {
    app,
    platform,
    dataDir: tmp.dir,
    state,
    close: async () => {
      await app.close();
      await background.stop();
      await platform.close();
      await tmp.remove();
    },
  };
}

/** Upload bytes as a model version through the API; returns the parsed body. */
export async function upload(
  app: FastifyInstance,
  name: string,
  bytes: Uint8Array,
  query = '',
): Promise<{ statusCode: number; body: Record<string, unknown> }> {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/models/${encodeURIComponent(name)}/versions${query}`,
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    payload: Buffer.from(bytes),
  });
  return { statusCode: res.statusCode, body: res.json() };
}
