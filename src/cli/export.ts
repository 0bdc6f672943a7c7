/**
 * `maas models export NAME DIR [--version V]`: a decoder version as a Hugging Face model folder
 * in DIR (config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, onnx/model.onnx), which `@huggingface/transformers` loads offline.
 * The server packs it (GET …/versions/{v}/export, .tar.gz); entries are unpacked with maas's
 * archive reader, whose names are checked to stay inside DIR.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultArchiveLimits, tarEntries } from '../data/formats/archive';
import { type CliIO, client, clientFlags, only, type Parsed, UsageError } from './shared';

/** A model folder may hold multi-GB graphs; the archive is our own server's answer. */
const exportLimits = {
  ...defaultArchiveLimits,
  maxEntries: 100,
  maxEntryBytes: 2 ** 31 - 1,
  maxTotalBytes: 2 ** 34,
};

export async function exportCommand(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, [...clientFlags, '--version']);
  const [, , name, dir] = p.positional;
  if (!name || !dir) throw new UsageError('maas models export NAME DIR [--version V]');
  const archive = await (await client(p.flags, io)).exportModel(name, p.flags['--version']);
  const scratch = await mkdtemp(join(tmpdir(), 'maas-export-'));
  try {
    const packed = join(scratch, 'model.tar.gz');
    await writeFile(packed, archive);
    const written: string[] = [];
    for await (const entry of tarEntries(packed, exportLimits)) {
      const target = join(dir, entry.name);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, entry.data);
      written.push(`${entry.name} (${entry.data.length} bytes)`);
    }
    io.out(`exported ${name}${p.flags['--version'] ? ` version ${p.flags['--version']}` : ''} to ${dir}`);
    for (const line of written) io.out(`  ${line}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
