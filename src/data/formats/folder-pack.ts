/**
 * Pack a folder as a .tar (or .tar.gz) stream, file by file, so a multi-gigabyte model folder is
 * never held in memory (`maas models push NAME ./folder`). Only regular files and folders go in;
 * links and special files are refused, as the reader refuses them. Names are `/`-separated paths
 * relative to the folder, checked as the reader checks them (`checkEntryName`).
 *
 * Plain .tar by default: model weights are float or quantised numbers that gzip shrinks by ≈ 7 %
 * for ≈ 25 s of CPU per 600 MB on a loaded 2-core machine (bench/llm/load-phases.ts), the
 * largest single cost of pushing a folder.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { badData } from '../problems';
import { checkEntryName } from './archive';

/** Files under `dir` (relative, `/`-separated, sorted); links and special files are refused. */
export async function folderFileList(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const path = relative(dir, join(e.parentPath, e.name)).split(sep).join('/');
    if (e.isDirectory()) continue;
    if (!e.isFile()) badData(path, 'links and special files cannot be packed (only files and folders)');
    files.push(checkEntryName(path));
  }
  return files.sort();
}

export interface PackOptions {
  /** Pack only these files: a subset of what folderFileList gives (it refuses links); default: all. */
  files?: readonly string[];
  /** Compress (.tar.gz); default false (.tar). */
  gzip?: boolean;
}

/** A .tar (or .tar.gz) of the files under `dir`, streamed; errors arrive on the returned stream. */
export async function packFolderStream(dir: string, options: PackOptions = {}): Promise<Readable> {
  const files = options.files ? [...options.files].map(checkEntryName) : await folderFileList(dir);
  if (files.length === 0) badData(dir.split(sep).at(-1) ?? 'folder', 'the folder is empty');
  const pack = tar.pack();
  const out = new PassThrough();
  const done = options.gzip ? pipeline(pack, createGzip(), out) : pipeline(pack, out);
  done.catch((e: unknown) => out.destroy(e as Error));
  (async () => {
    for (const name of files) {
      const path = join(dir, name);
      const { size, mtime } = await stat(path);
      const entry = pack.entry({ name, size, mode: 0o644, mtime });
      await pipeline(createReadStream(path), entry);
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  return out;
}
