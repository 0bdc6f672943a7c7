/**
 * Content-addressed artifact files. A file is streamed into a temp file while being hashed,
 * fsynced, then renamed to its digest's path, so a crash leaves either no file or a whole one (and
 * at worst an orphan temp file, which `open` removes). Paths come from ONE function, `pathOf`,
 * and only from a validated digest — never from request strings.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { parseDigest } from '../../common/names';

export interface StagedArtifact {
  digest: string;
  sizeBytes: number;
  /** The temp file; pass to `commit` or `discard`. */
  tempPath: string;
}

export class ArtifactStore {
  private constructor(
    readonly root: string,
    private readonly tmpDir: string,
  ) {}

  /**
   * Opens (creating) `<dir>/artifacts`. Deletes nothing: the folder may be shared by several
   * processes, and temp files a crash left behind go in the leader's sweep (`collectOrphans`).
   */
  static async open(dataDir: string): Promise<ArtifactStore> {
    const root = join(dataDir, 'artifacts');
    const tmpDir = join(root, 'tmp');
    await mkdir(join(root, 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    return new ArtifactStore(root, tmpDir);
  }

  /** The one place an artifact path is made: `<root>/sha256/<ab>/<hex>`. */
  pathOf(digest: string): string {
    const hex = parseDigest(digest).slice('sha256:'.length);
    return join(this.root, 'sha256', hex.slice(0, 2), hex);
  }

  /**
   * Stream `body` into a temp file, hashing as it goes. More than `maxBytes` → `payload_too_large`
   * (the stream is abandoned, nothing is kept); a body that errors → the error, nothing kept.
   */
  async stage(body: Readable, maxBytes: number): Promise<StagedArtifact> {
    const tempPath = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    const file = await open(tempPath, 'wx', 0o600);
    let size = 0;
    try {
      await eachChunk(body, async (chunk) => {
        size += chunk.length;
        if (size > maxBytes) fail('payload_too_large', `model files are limited to ${maxBytes} bytes`);
        hash.update(chunk);
        await file.write(chunk);
      });
      await file.sync();
    } catch (e) {
      await file.close();
      await rm(tempPath, { force: true });
      throw e;
    }
    await file.close();
    return { digest: `sha256:${hash.digest('hex')}`, sizeBytes: size, tempPath };
  }

  /** Move a staged file to its content address (a no-op if the same bytes are already stored). */
  async commit(staged: StagedArtifact): Promise<string> {
    const target = this.pathOf(staged.digest);
    await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
    await rename(staged.tempPath, target);
    // fsync the folder so the rename itself survives a power cut.
    const dir = await open(join(target, '..'), 'r');
    await dir.sync().finally(() => dir.close());
    return target;
  }

  async discard(staged: StagedArtifact): Promise<void> {
    await rm(staged.tempPath, { force: true });
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.pathOf(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }

  /** sha256 of a stored file, to check it still matches its name. */
  async verify(digest: string): Promise<boolean> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(this.pathOf(digest))) hash.update(chunk as Buffer);
    } catch {
      return false;
    }
    return `sha256:${hash.digest('hex')}` === digest;
  }

  /** Every stored digest (for orphan collection). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    const base = join(this.root, 'sha256');
    for (const prefix of await readdir(base)) {
      for (const name of await readdir(join(base, prefix)).catch(() => [])) {
        if (/^[0-9a-f]{64}$/.test(name)) out.push(`sha256:${name}`);
      }
    }
    return out;
  }

  /**
   * Remove stored files no row references (left by a crash between rename and insert) and temp
   * files (a crash mid-upload), both only when last modified more than `graceMs` ago: a younger
   * one may be another process's upload between its rename and its row (`referenced` is read
   * before the sweep, so a row added meanwhile is missing from it too). Returns removed digests.
   */
  async collectOrphans(referenced: Set<string>, graceMs = 0): Promise<string[]> {
    const before = Date.now() - graceMs;
    const old = (path: string) =>
      stat(path).then(
        (s) => s.mtimeMs <= before,
        () => false,
      );
    const removed: string[] = [];
    for (const digest of await this.list()) {
      if (!referenced.has(digest) && (await old(this.pathOf(digest)))) {
        await this.remove(digest);
        removed.push(digest);
      }
    }
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (await old(join(this.tmpDir, name))) await rm(join(this.tmpDir, name), { force: true });
    }
    return removed;
  }
}

/**
 * Feed a stream's chunks to `onChunk` one at a time (pausing the stream while it works). When
 * `onChunk` throws, reading stops WITHOUT destroying the stream: destroying a request stream
 * resets the connection, and the client would never see our 413.
 */
function eachChunk(body: Readable, onChunk: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Promise<void> = Promise.resolve();
    let failed = false;
    const stop = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onData = (chunk: Uint8Array) => {
      body.pause();
      pending = onChunk(chunk).then(
        () => {
          if (!failed) body.resume();
        },
        (e: unknown) => {
          failed = true;
          stop();
          reject(e);
        },
      );
    };
    const onEnd = () => {
      stop();
      pending.then(() => {
        if (!failed) resolve();
      });
    };
    const onError = (e: Error) => {
      failed = true;
      stop();
      reject(e);
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}
