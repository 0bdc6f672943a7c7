/**
 * Write files into a .tar.gz in memory (e.g. a model exported as a Hugging Face folder). Names
 * are relative paths with `/`; each is checked as the reader checks them (`checkEntryName`), so
 * what maas packs, maas (and `tar -xzf`) unpacks inside the target folder.
 */
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { checkEntryName } from './archive';

export async function packTarGz(files: readonly (readonly [string, string | Uint8Array])[]): Promise<Buffer> {
  const pack = tar.pack();
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('data', (c: Buffer) => chunks.push(c));
    gzip.on('end', resolve);
    gzip.on('error', reject);
    pack.on('error', reject);
  });
  pack.pipe(gzip);
  const mtime = new Date();
  for (const [name, data] of files) {
    const bytes =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    pack.entry({ name: checkEntryName(name), size: bytes.length, mode: 0o644, mtime }, bytes);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
