/**
 * Content-addressed artifact files. A file is streamed into a temp file while being hashed,
 * fsynced, then renamed to its digest's path, so a crash leaves either no file or a whole one (and
 * at worst an orphan temp file, which the leader's sweep removes). Paths come from ONE function,
 * `pathOf`, and only from a validated digest — never from request strings.
 *
 * With a shared blob store (MAAS_BLOB_STORE=postgres) the blob store holds the artifacts and the
 * folder is this process's cache of them: `commit` stores the bytes there first, `local` fetches
 * a file another process stored, and the least recently used copies are deleted past the budget.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fail } from '../../common/errors';
import { parseDigest } from '../../common/names';
import type { BlobStore } from '../../store/blob-ports';
import { LruBytes } from './lru-bytes';

export interface StagedArtifact {
  digest: string;
  sizeBytes: number;
  /** The temp file; pass to `commit` or `discard`. */
  tempPath: string;
}

/** Artifacts kept in a blob store every process reads, the folder caching them. */
export interface SharedBlobs {
  blobs: BlobStore;
  /** Disk budget of the local copies (bytes). */
  cacheBytes: number;
}

export class ArtifactStore {
  /** Fetches in flight by digest, so concurrent requests for one file fetch it once. */
  private readonly fetching = new Map<string, Promise<string>>();

  private constructor(
    readonly root: string,
    private readonly tmpDir: string,
    private readonly shared: { blobs: BlobStore; cache: LruBytes } | null,
  ) {}

  /**
   * Opens (creating) `<dir>/artifacts`. Deletes nothing: the folder may be shared by several
   * processes, and temp files a crash left behind go in the leader's sweep (`collectOrphans`).
   * With `shared`, the copies already in the folder count against the budget, oldest first.
   */
  static async open(dataDir: string, shared?: SharedBlobs): Promise<ArtifactStore> {
    const root = join(dataDir, 'artifacts');
    const tmpDir = join(root, 'tmp');
    await mkdir(join(root, 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    // Folder views are derived (hard links): rebuilt on first use, never trusted across a restart.
    await rm(join(root, 'views'), { recursive: true, force: true });
    const store = new ArtifactStore(
      root,
      tmpDir,
      shared ? { blobs: shared.blobs, cache: new LruBytes(shared.cacheBytes) } : null,
    );
    if (store.shared) await store.accountLocalCopies(store.shared.cache);
    return store;
  }

  /** Seeds the cache's budget with the copies a previous run left, least recently used first. */
  private async accountLocalCopies(cache: LruBytes): Promise<void> {
    const copies: { digest: string; size: number; usedAt: number }[] = [];
    for (const digest of await this.listLocal()) {
      const s = await stat(this.pathOf(digest)).catch(() => null);
      if (s) copies.push({ digest, size: s.size, usedAt: s.mtimeMs });
    }
    copies.sort((a, b) => a.usedAt - b.usedAt);
    for (const c of copies) for (const gone of cache.use(c.digest, c.size)) await this.removeLocal(gone);
  }

  /**
   * The path of the file on this machine. Without a shared blob store that is its stored file;
   * with one, a cached copy, fetched (and checked against its digest) when missing, then marked
   * used so the least recently used copies go first. `not_found` when no process stored it.
   */
  async local(digest: string): Promise<string> {
    if (!this.shared) return this.pathOf(digest);
    const path = this.pathOf(digest);
    const size = await stat(path).then(
      (s) => s.size,
      () => null,
    );
    if (size !== null) {
      // The file's time is its last use: a restart orders the copies by it.
      await utimes(path, new Date(), new Date()).catch(() => {});
      await this.used(digest, size);
      return path;
    }
    let fetching = this.fetching.get(digest);
    if (!fetching) {
      fetching = this.fetch(digest).finally(() => this.fetching.delete(digest));
      this.fetching.set(digest, fetching);
    }
    return fetching;
  }

  private async fetch(digest: string): Promise<string> {
    const shared = this.shared as { blobs: BlobStore; cache: LruBytes };
    const body = await shared.blobs.read(digest);
    if (!body) return fail('not_found', `the stored file ${digest} is missing from the blob store`);
    const staged = await this.stage(body, Number.MAX_SAFE_INTEGER);
    if (staged.digest !== digest) {
      await this.discard(staged);
      return fail('internal', `the blob store returned other bytes for ${digest}`);
    }
    const path = await this.place(staged);
    await this.used(digest, staged.sizeBytes);
    return path;
  }

  private async used(digest: string, sizeBytes: number): Promise<void> {
    if (!this.shared) return;
    for (const gone of this.shared.cache.use(digest, sizeBytes)) await this.removeLocal(gone);
  }

  /** Bytes of the local copies (with a shared blob store; 0 otherwise). */
  cachedBytes(): number {
    return this.shared?.cache.bytes ?? 0;
  }

  /** A fresh private folder under the temp folder (a crash leaves it for `open` to remove). */
  async tempFolder(): Promise<string> {
    return mkdtemp(join(this.tmpDir, 'folder-'));
  }

  /**
   * The stored files of a folder version laid out under their folder paths, as hard links:
   * `<root>/views/<hex of key>/onnx/model.onnx`, so ONNX Runtime finds a graph's external data
   * beside it. Built once into a temp folder and renamed into place; paths are checked again.
   */
  async folderView(key: string, files: readonly { path: string; digest: string }[]): Promise<string> {
    const target = join(this.root, 'views', parseDigest(key).slice('sha256:'.length));
    if (
      await stat(target).then(
        () => true,
        () => false,
      )
    )
      return target;
    const temp = await this.tempFolder();
    try {
      for (const f of files) {
        if (!isFolderPath(f.path)) fail('internal', 'a stored folder path is not a plain relative path');
        const at = join(temp, f.path);
        await mkdir(dirname(at), { recursive: true, mode: 0o700 });
        await link(await this.local(f.digest), at);
      }
      await mkdir(join(this.root, 'views'), { recursive: true, mode: 0o700 });
      await rename(temp, target).catch(async (e: NodeJS.ErrnoException) => {
        // Built at the same time by another caller: theirs is the same.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        await rm(temp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
    return target;
  }

  async removeView(key: string): Promise<void> {
    await rm(join(this.root, 'views', parseDigest(key).slice('sha256:'.length)), {
      recursive: true,
      force: true,
    });
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
  async stage(body: Readable | AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedArtifact> {
    const tempPath = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    const file = await open(tempPath, 'wx', 0o600);
    let size = 0;
    try {
      await eachChunk(body instanceof Readable ? body : Readable.from(body), async (chunk) => {
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

  /**
   * Stage a file already written inside this store's temp folder (a file of an unpacked upload,
   * see `tempFolder`) by moving it, not copying it: it is hashed as it is read, synced, and
   * renamed to a staged path (a 440 MB graph is then written once, not twice).
   */
  async stageFile(path: string): Promise<StagedArtifact> {
    const tempPath = join(this.tmpDir, `${randomBytes(12).toString('hex')}.part`);
    const hash = createHash('sha256');
    let size = 0;
    await eachChunk(createReadStream(path), async (chunk) => {
      size += chunk.length;
      hash.update(chunk);
    });
    const file = await open(path, 'r');
    await file.sync().finally(() => file.close());
    await rename(path, tempPath);
    return { digest: `sha256:${hash.digest('hex')}`, sizeBytes: size, tempPath };
  }

  /**
   * Store a staged file under its content address (a no-op if the same bytes are already stored):
   * in the shared blob store first when there is one, then in the folder. Returns the local path.
   */
  async commit(staged: StagedArtifact): Promise<string> {
    if (this.shared) {
      const stored = await this.shared.blobs.put(createReadStream(staged.tempPath));
      if (stored.digest !== staged.digest) fail('internal', 'a staged file changed before it was stored');
    }
    const target = await this.place(staged);
    await this.used(staged.digest, staged.sizeBytes);
    return target;
  }

  /** Rename a staged file to its path in the folder. */
  private async place(staged: StagedArtifact): Promise<string> {
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

  /** Whether the file is on this machine now (with a shared blob store: whether it is cached). */
  async has(digest: string): Promise<boolean> {
    return stat(this.pathOf(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Removes the file everywhere: from the shared blob store too when there is one. */
  async remove(digest: string): Promise<void> {
    await this.shared?.blobs.remove(digest);
    await this.removeLocal(digest);
  }

  private async removeLocal(digest: string): Promise<void> {
    this.shared?.cache.forget(digest);
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

  /** Every stored digest: the shared blob store's when there is one, else the folder's. */
  async list(): Promise<string[]> {
    return this.shared ? this.shared.blobs.list() : this.listLocal();
  }

  private async listLocal(): Promise<string[]> {
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
   * With a shared blob store: remove the blobs stored more than `graceMs` ago that no row
   * references, and the chunks of uploads that died. `referenced` must hold every digest of the
   * deployment (models AND datasets: they share the blob store). Returns removed digests.
   */
  async collectSharedOrphans(referenced: Set<string>, graceMs = 0): Promise<string[]> {
    if (!this.shared) return [];
    const before = Date.now() - graceMs;
    const removed: string[] = [];
    for (const digest of await this.shared.blobs.list(before)) {
      if (!referenced.has(digest)) {
        await this.remove(digest);
        removed.push(digest);
      }
    }
    await this.shared.blobs.purgeAbandoned(before);
    return removed;
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
    // The stored files, or with a shared blob store this process's copies of them.
    for (const digest of await this.listLocal()) {
      if (!referenced.has(digest) && (await old(this.pathOf(digest)))) {
        await this.removeLocal(digest);
        removed.push(digest);
      }
    }
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (await old(join(this.tmpDir, name))) await rm(join(this.tmpDir, name), { force: true });
    }
    return removed;
  }
}

/** `onnx/model.onnx`: `/`-separated, relative, no empty, `.` or `..` segment, no `\\` or NUL. */
export function isFolderPath(path: string): boolean {
  if (path.length === 0 || path.length > 1024 || /[\\\0]/.test(path) || path.startsWith('/')) return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
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
      body.off('close', onClose);
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
    // A body destroyed before it ended (its error may have fired before we listened: a multipart
    // part cut short) never emits 'end': without this the upload would wait forever.
    const onClose = () => {
      if (!body.readableEnded) onError(body.errored ?? new Error('the body ended early'));
    };
    if (body.destroyed) {
      onClose();
      return;
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}
