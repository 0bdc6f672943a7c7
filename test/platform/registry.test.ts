import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { Registry } from '../../src/platform/registry/registry';
import { SqliteStore } from '../../src/store/sqlite/store';
import { absurdDimsModel, customDomainModel, externalDataModel, linearModel } from '../helpers/onnx-fixtures';
import { tempDir } from '../helpers/tmp';

const limits = { maxUploadBytes: 1 << 20, validation: { timeoutMs: 20_000, memoryMb: 256 } };
const body = (bytes: Uint8Array) => Readable.from([Buffer.from(bytes)]);

async function refused(p: Promise<unknown>): Promise<MaasError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MaasError);
  return e as MaasError;
}

describe('registry', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  let artifacts: ArtifactStore;
  let registry: Registry;

  beforeAll(async () => {
    tmp = await tempDir();
    store = SqliteStore.open({ path: join(tmp.dir, 'maas.db') });
    artifacts = await ArtifactStore.open(tmp.dir);
    registry = new Registry(store, artifacts, limits);
  });
  afterAll(async () => {
    await store.close();
    await tmp.remove();
  });

  it('uploads a model: content-addressed file, signature from the graph, latest alias', async () => {
    const { bytes } = linearModel(4, 3);
    const v = await registry.upload('t', 'lin', body(bytes), { metadata: { labels: ['a', 'b', 'c'] } });
    expect(v.version).toBe(1);
    expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v.signature.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 4] }]);
    expect(v.signature.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['batch', 3] }]);
    expect(v.metadata.labels).toEqual(['a', 'b', 'c']);
    expect(new Uint8Array(await readFile(await registry.localPath(v)))).toEqual(bytes);
    const v2 = await registry.upload('t', 'lin', body(bytes));
    expect(v2.version).toBe(2);
    expect((await registry.resolve('t', 'lin')).version).toBe(2);
    await registry.setAlias('t', 'lin', 'prod', '1');
    expect((await registry.resolve('t', 'lin', 'prod')).version).toBe(1);
    await registry.deleteVersion('t', 'lin', '2');
    // Same bytes still referenced by version 1: the file stays.
    expect(await artifacts.has(v.digest)).toBe(true);
    await registry.deleteModel('t', 'lin');
    expect(await artifacts.has(v.digest)).toBe(false);
  });

  it('serves resolved versions from memory, and never one that was deleted', async () => {
    const { bytes } = linearModel(4, 3);
    await registry.upload('t', 'cached', body(bytes), { metadata: { round: 1 } });
    // A first read still in flight while the model is deleted must not be cached as live.
    // It may finish before or after the delete; either answer is right, a cached ghost is not.
    const inFlight = registry.resolve('t', 'cached', '1').then(
      (v) => v.metadata.round,
      (e: MaasError) => e.code,
    );
    await registry.deleteModel('t', 'cached');
    expect([1, 'not_found']).toContain(await inFlight);
    expect((await refused(registry.resolve('t', 'cached', '1'))).code).toBe('not_found');
    await registry.upload('t', 'cached', body(bytes), { metadata: { round: 2 } });
    const first = await registry.resolve('t', 'cached', '1');
    expect(first.metadata.round).toBe(2);
    // The same parsed record, not a fresh parse of the row.
    expect(await registry.resolve('t', 'cached')).toBe(first);
    // Re-created after deletion: version 1 is a new record with the new metadata.
    await registry.deleteModel('t', 'cached');
    await registry.upload('t', 'cached', body(bytes), { metadata: { round: 3 } });
    const again = await registry.resolve('t', 'cached', '1');
    expect(again).not.toBe(first);
    expect(again.metadata.round).toBe(3);
    await registry.deleteVersion('t', 'cached', '1');
    expect((await refused(registry.resolve('t', 'cached', '1'))).code).toBe('not_found');
  });

  it.each([
    [
      'random bytes',
      () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251),
      'invalid_model',
    ],
    [
      'a pickle',
      () => Uint8Array.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x2e]),
      'invalid_model',
    ],
    ['a truncated model', () => linearModel().bytes.subarray(0, 60), 'invalid_model'],
    ['a custom-op domain', customDomainModel, 'unsupported_model'],
    ['external data', externalDataModel, 'unsupported_model'],
    ['absurd dims', absurdDimsModel, 'invalid_model'],
    ['an empty body', () => new Uint8Array(), 'invalid_model'],
  ])('refuses %s with a clear 4xx and keeps nothing', async (_label, make, code) => {
    const e = await refused(registry.upload('t', 'bad', body(make())));
    expect(e.code).toBe(code);
    expect(e.status).toBeGreaterThanOrEqual(400);
    expect(e.status).toBeLessThan(500);
    expect(e.message).not.toMatch(/\/tmp|\/work|at .*\.ts/);
    expect(await store.models.getModel('t', 'bad')).toBeNull();
    expect(await readdir(join(tmp.dir, 'artifacts', 'tmp'))).toEqual([]);
  });

  it('stops an oversized body and keeps nothing', async () => {
    const big = new Uint8Array(limits.maxUploadBytes + 10);
    const e = await refused(registry.upload('t', 'big', body(big)));
    expect(e.code).toBe('payload_too_large');
    expect(await readdir(join(tmp.dir, 'artifacts', 'tmp'))).toEqual([]);
  });

  it('refuses traversal names before touching the disk', async () => {
    for (const name of ['../x', '..%2fetc', '/etc/passwd', 'a\\..\\b', 'x'.repeat(4096), 'a\0b']) {
      const e = await refused(registry.upload('t', name, body(linearModel().bytes)));
      expect(e.code).toBe('invalid_name');
    }
  });

  it('the sweep removes orphaned temp files and unreferenced artifacts older than its grace only', async () => {
    const staged = await artifacts.stage(body(new Uint8Array([1, 2, 3])), 100);
    await artifacts.commit(staged);
    await writeFile(join(tmp.dir, 'artifacts', 'tmp', 'dead.part'), 'x');
    // Opening deletes nothing: the folder may be shared with a process uploading right now.
    const reopened = await ArtifactStore.open(tmp.dir);
    expect(await readdir(join(tmp.dir, 'artifacts', 'tmp'))).toEqual(['dead.part']);
    const registry = new Registry(store, reopened, limits);
    // Younger than the grace period: another process's upload between its rename and its row.
    expect(await registry.collectOrphans(60_000)).toEqual([]);
    expect(await reopened.has(staged.digest)).toBe(true);
    expect(await readdir(join(tmp.dir, 'artifacts', 'tmp'))).toEqual(['dead.part']);
    const past = new Date(Date.now() - 120_000);
    await utimes(reopened.pathOf(staged.digest), past, past);
    await utimes(join(tmp.dir, 'artifacts', 'tmp', 'dead.part'), past, past);
    expect(await registry.collectOrphans(60_000)).toEqual([staged.digest]);
    expect(await reopened.has(staged.digest)).toBe(false);
    expect(await readdir(join(tmp.dir, 'artifacts', 'tmp'))).toEqual([]);
  });
});
