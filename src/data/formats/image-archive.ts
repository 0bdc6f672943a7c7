import { atEntry, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Row } from '../table';
import {
  type ArchiveEntry,
  type ArchiveLimits,
  defaultArchiveLimits,
  tarEntries,
  zipEntries,
} from './archive';
import { decodeImage, sniffImage } from './image';

export type ArchiveKind = 'zip' | 'tar';

export interface ImageArchiveOptions {
  limits?: Partial<ArchiveLimits>;
  maxRows?: number;
}

/** Hidden files and macOS resource forks that zip tools add; never data. */
function isJunk(name: string): boolean {
  return name.split('/').some((part) => part.startsWith('.') || part === '__MACOSX');
}

/**
 * An image classification archive: one folder per label, e.g. `cat/001.png`, `dog/7.jpg` (or the
 * same under one top folder, `pets/cat/001.png`). The label is the image's parent folder. Files at
 * the top level that are not images (a README) are skipped; anything else that is not a PNG/JPEG
 * is refused by name. Rows: `{ image, label }`.
 */
export async function* readImageArchive(
  path: string,
  kind: ArchiveKind,
  options: ImageArchiveOptions = {},
): AsyncGenerator<Row> {
  const limits = { ...defaultArchiveLimits, ...options.limits };
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const entries: AsyncGenerator<ArchiveEntry> =
    kind === 'zip' ? zipEntries(path, limits) : tarEntries(path, limits);
  let count = 0;
  for await (const { name, data } of entries) {
    if (isJunk(name)) continue;
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    const where = atEntry(name);
    const isImage = sniffImage(data) !== null;
    if (parts.length < 2) {
      if (isImage) badData(where, 'images must sit in a folder named after their label');
      continue;
    }
    if (!isImage) badData(where, 'not a PNG or JPEG image');
    checkRowCap(++count, maxRows, where);
    yield { where, values: { image: decodeImage(data, where), label: parts[parts.length - 2] } };
  }
  if (count === 0) badData('file', 'archive holds no images in label folders');
}
