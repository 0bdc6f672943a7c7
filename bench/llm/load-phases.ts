/**
 * Where the time goes when a model folder is pushed and first served, phase by phase, with the
 * real code of each phase on the bench folder (bench/llm/folder.ts, ≈ 110 M parameters, 627 MB with
 * its int8 sibling):
 *
 *   pack        `maas models push`'s client side: the folder as it sends it (push-folder.ts: a plain
 *               .tar of the graph it serves; `--gzip-all`: every file as .tar.gz, as it did before)
 *   receive     the server streams the body into a temp file, hashing it (ArtifactStore.stage)
 *   stage       unpack, check text files, validate the graph in a child, store each file (stageFolder)
 *   validate    the child check alone (validateModelFile), part of `stage`
 *   first-load  the serving session in its worker thread (ThreadedSession.create)
 *
 *   node --import tsx bench/llm/load-phases.ts [--gzip-all]
 *
 * Wall ms per phase, and this process's CPU ms (a child's CPU is not in it).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { filesToPush } from '../../src/cli/push-folder';
import { packFolderStream } from '../../src/data/formats/folder-pack';
import { dataLimits } from '../../src/data/limits';
import { ArtifactStore } from '../../src/platform/artifacts/artifacts';
import { stageFolder } from '../../src/platform/registry/folder-upload';
import { validateModelFile } from '../../src/platform/registry/validate';
import { ThreadedSession } from '../../src/platform/serving/threaded-session';
import { benchFolder } from './folder';

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await fn();
  const c = process.cpuUsage(c0);
  console.log(
    `${name.padEnd(11)} wall ${(performance.now() - t0).toFixed(0).padStart(7)} ms  cpu ${((c.user + c.system) / 1000).toFixed(0).padStart(7)} ms  load ${os.loadavg()[0].toFixed(2)}`,
  );
  return out;
}

async function main() {
  const folder = await benchFolder((m) => console.error(m));
  const dir = await mkdtemp(join(tmpdir(), 'maas-load-phases-'));
  try {
    const gzip = process.argv.includes('--gzip-all');
    const archive = join(dir, 'model.tar');
    const files = gzip ? undefined : await filesToPush(folder, undefined);
    await phase('pack', async () =>
      pipeline(await packFolderStream(folder, { files, gzip }), createWriteStream(archive)),
    );
    const artifacts = await ArtifactStore.open(join(dir, 'data'));
    const received = await phase('receive', () =>
      artifacts.stage(createReadStream(archive), Number.MAX_SAFE_INTEGER),
    );
    const validation = { timeoutMs: 1_200_000, memoryMb: 4096 };
    const staged = await phase('stage', () =>
      stageFolder(received.tempPath, gzip ? 'tar.gz' : 'tar', undefined, {
        artifacts,
        validation,
        limited: (fn) => fn(),
        archiveLimits: dataLimits({ maxArchiveEntryBytes: 2 ** 31, maxInflatedBytes: 2 ** 33 }),
      }),
    );
    await phase('validate', () => validateModelFile(join(folder, 'onnx', 'model.onnx'), validation, folder));
    for (const s of staged.staged) await artifacts.commit(s);
    const path = await artifacts.folderView(staged.graph.digest, staged.files);
    const session = await phase('first-load', () =>
      ThreadedSession.create(join(path, staged.graph.path), { intraOpThreads: 2, interOpThreads: 1 }),
    );
    await session.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
