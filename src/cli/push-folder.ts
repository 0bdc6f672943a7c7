/**
 * `maas models push NAME ./folder`: the body is the folder as a plain .tar, packed while it
 * uploads, holding only what the server keeps: the graph it will serve (`--variant`, else its
 * default choice) with its external data, and the other files; the folder's other graphs are left
 * out (the server would unpack, then drop them). Where the client cannot tell (no graph, a broken
 * genai_config.json) the whole folder goes and the server's answer names the problem.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** The folder paths `maas models push` sends. */
export async function filesToPush(dir: string, variant: string | undefined): Promise<string[]> {
  const { folderFileList } = await import('../data/formats/folder-pack');
  const { chooseGraph, keptPaths } = await import('../models/hf/layout');
  const all = await folderFileList(dir);
  try {
    const genai = all.includes('genai_config.json')
      ? (JSON.parse(await readFile(join(dir, 'genai_config.json'), 'utf8')) as unknown)
      : undefined;
    return keptPaths(all, chooseGraph(new Set(all), variant, genai).graph);
  } catch {
    return all;
  }
}

export async function folderBody(
  dir: string,
  variant: string | undefined,
): Promise<ReadableStream<Uint8Array>> {
  const { packFolderStream } = await import('../data/formats/folder-pack');
  const files = await filesToPush(dir, variant);
  return Readable.toWeb(await packFolderStream(dir, { files })) as ReadableStream<Uint8Array>;
}
