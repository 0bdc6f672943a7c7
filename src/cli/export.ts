/**
 * `maas models export NAME DIR [--version V]`: a decoder version as a Hugging Face model folder
 * in DIR (config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json, onnx/model.onnx), which `@huggingface/transformers` loads offline.
 * With `--adapter`, a LoRA-tuned version's adapter alone (PEFT's adapter_config.json and
 * adapter_model.safetensors; GET …/versions/{v}/adapter).
 * The server packs it (GET …/versions/{v}/export, .tar.gz); entries are unpacked with maas's
 * archive reader, whose names are checked to stay inside DIR.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tarEntries } from '../data/formats/archive';
import { dataLimits } from '../data/limits';
import { type CliIO, client, only, type Parsed, UsageError } from './shared';

/** A model folder may hold multi-GB graphs; the archive is our own server's answer. */
const exportLimits = dataLimits({
  maxArchiveEntries: 100,
  maxArchiveEntryBytes: 2 ** 31 - 1,
  maxInflatedBytes: 2 ** 34,
});

export async function exportCommand(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'models export');
  const [, , name, dir] = p.positional;
  if (!name || !dir) throw new UsageError('maas models export NAME DIR [--version V] [--adapter]');
  const adapter = p.flags['--adapter'] === 'true';
  const archive = await (await client(p.flags, io)).exportModel(name, p.flags['--version'], { adapter });
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
    const which = `${adapter ? 'the adapter of ' : ''}${name}`;
    io.out(`exported ${which}${p.flags['--version'] ? ` version ${p.flags['--version']}` : ''} to ${dir}`);
    for (const line of written) io.out(`  ${line}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
