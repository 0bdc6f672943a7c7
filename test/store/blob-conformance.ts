/**
 * The conformance suite of the blob port (content-addressed bytes). Every adapter runs it:
 *
 *   describeBlobStoreConformance('postgresql', async () => ({ blobs, close }));
 *
 * Not a `*.test.ts` file itself: adapters' test files import it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import type { BlobStore } from '../../src/store/blob-ports';

export interface BlobHarness {
  blobs: BlobStore;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The bytes in uneven parts (as a socket delivers them). */
async function* parts(bytes: Buffer, size = 64 * 1024 + 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(blobs: BlobStore, digest: string): Promise<Buffer | null> {
  const body = await blobs.read(digest);
  if (!body) return null;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

export function describeBlobStoreConformance(adapter: string, open: () => Promise<BlobHarness>): void {
  describe(`blob store conformance: ${adapter}`, () => {
    let h: BlobHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.close();
    });

    it('stores bytes under their sha256 and reads back the same bytes, large and empty', async () => {
      const big = randomBytes(Math.floor(2.5 * MiB));
      const info = await h.blobs.put(parts(big));
      expect(info).toEqual({ digest: sha(big), sizeBytes: big.length });
      expect(await h.blobs.stat(info.digest)).toEqual(info);
      expect((await readAll(h.blobs, info.digest))?.equals(big)).toBe(true);
      const empty = await h.blobs.put(parts(Buffer.alloc(0)));
      expect(empty).toEqual({ digest: sha(Buffer.alloc(0)), sizeBytes: 0 });
      expect((await readAll(h.blobs, empty.digest))?.length).toBe(0);
      expect(await h.blobs.list()).toEqual([info.digest, empty.digest].sort());
      // By age (the leader's sweep removes only blobs older than its grace period).
      expect(await h.blobs.list(Date.now() + 1000)).toEqual([info.digest, empty.digest].sort());
      expect(await h.blobs.list(Date.now() - 60_000)).toEqual([]);
    });

    it('keeps one copy of the same bytes stored twice at once', async () => {
      const bytes = randomBytes(MiB + 3);
      const [a, b] = await Promise.all([h.blobs.put(parts(bytes)), h.blobs.put(parts(bytes, 4096))]);
      expect(a).toEqual(b);
      expect(await h.blobs.list()).toEqual([a.digest]);
      expect((await readAll(h.blobs, a.digest))?.equals(bytes)).toBe(true);
      expect(await h.blobs.purgeAbandoned(Date.now() + 1000)).toBe(0); // nothing left behind
    });

    it('refuses a blob past maxBytes and keeps nothing of it', async () => {
      const error = await h.blobs.put(parts(randomBytes(2 * MiB)), MiB + 10).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isMaasError(error) && error.code).toBe('payload_too_large');
      expect(await h.blobs.list()).toEqual([]);
      expect(await h.blobs.purgeAbandoned(Date.now() + 1000)).toBe(0);
    });

    it('removes a blob; absent digests read as null', async () => {
      const info = await h.blobs.put(parts(Buffer.from('hello')));
      expect(await h.blobs.remove(info.digest)).toBe(true);
      expect(await h.blobs.remove(info.digest)).toBe(false);
      expect(await h.blobs.stat(info.digest)).toBeNull();
      expect(await h.blobs.read(info.digest)).toBeNull();
      expect(await h.blobs.list()).toEqual([]);
    });

    it('purges an upload that stopped writing (its process died), not a finished blob', async () => {
      const done = await h.blobs.put(parts(Buffer.from('kept')));
      let fail: (e: Error) => void = () => {};
      let written: () => void = () => {};
      const chunkWritten = new Promise<void>((resolve) => {
        written = resolve;
      });
      const stalled = (async function* () {
        yield randomBytes(MiB + 1);
        // Asked for more: the full chunk is written. Now the writer hangs (its process "died").
        written();
        await new Promise((_, reject) => {
          fail = reject;
        });
      })();
      const upload = h.blobs.put(stalled);
      await chunkWritten;
      expect(await h.blobs.purgeAbandoned(Date.now() - 60_000)).toBe(0); // written too recently
      expect(await h.blobs.purgeAbandoned(Date.now() + 1)).toBe(1);
      fail(new Error('writer died'));
      await expect(upload).rejects.toThrow('writer died');
      expect(await h.blobs.list()).toEqual([done.digest]);
    });
  });
}
