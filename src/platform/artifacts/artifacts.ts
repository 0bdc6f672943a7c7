/**
 * Content-addressed artifact files. A file is streamed into a temp file while being hashed,
 * fsynced, then renamed to its digest's path, so a crash leaves either no file or a whole one (and
 * at worst an orphan temp file, which `open` removes). Paths come from ONE function, `pathOf`,
 * and only from a validated digest — never from request strings.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
    // Folder views are derived (hard links): rebuilt on first use, never trusted across a restart.
    await rm(join(root, 'views'), { recursive: true, force: true });
    return new ArtifactStore(root, tmpDir);
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
        await link(this.pathOf(f.digest), at);
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
