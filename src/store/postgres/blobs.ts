/**
 * The blob port on PostgreSQL: content-addressed bytes cut into chunks of 1 MiB in `blob_chunks`
 * (schema in migrations/002_blobs.sql). An upload writes its chunks under `upload:<random>` while
 * it hashes them, then one transaction inserts the `blobs` row and renames the chunks to the
 * digest, so readers never see a partial blob; if the same bytes are already stored (or being
 * stored by another process that wins the insert) the upload's chunks are deleted instead.
 * Reads page through the chunks a few at a time, so a large model never sits whole in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fail } from '../../common/errors';
import type { BlobInfo, BlobStore } from '../blob-ports';
import { type Db, transaction } from './db';

/** Bytes per chunk row: big enough that a 100 MB model is 100 rows, small enough to stream. */
export const BLOB_CHUNK_BYTES = 1024 * 1024;
/** Chunks fetched per read query (4 MiB in memory at most). */
const CHUNKS_PER_READ = 4;

export class PostgresBlobs implements BlobStore {
  constructor(private readonly db: Db) {}

  async put(body: AsyncIterable<Uint8Array>, maxBytes = Number.POSITIVE_INFINITY): Promise<BlobInfo> {
    const upload = `upload:${randomBytes(12).toString('hex')}`;
    const hash = createHash('sha256');
    let sizeBytes = 0;
    let chunks = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const writeChunk = async (data: Buffer) => {
      await this.db.query('INSERT INTO blob_chunks (blob, n, data, written_at) VALUES ($1, $2, $3, $4)', [
        upload,
        chunks++,
        data,
        Date.now(),
      ]);
    };
    try {
      for await (const part of body) {
        sizeBytes += part.byteLength;
        if (sizeBytes > maxBytes) fail('payload_too_large', `the blob exceeds ${maxBytes} bytes`);
        hash.update(part);
        pending.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
        pendingBytes += part.byteLength;
        while (pendingBytes >= BLOB_CHUNK_BYTES) {
          const all = Buffer.concat(pending, pendingBytes);
          await writeChunk(all.subarray(0, BLOB_CHUNK_BYTES));
          pending = [all.subarray(BLOB_CHUNK_BYTES)];
          pendingBytes -= BLOB_CHUNK_BYTES;
        }
      }
      if (pendingBytes > 0) await writeChunk(Buffer.concat(pending, pendingBytes));
      const digest = `sha256:${hash.digest('hex')}`;
      await transaction(this.db, async (c) => {
        const inserted = await c.query(
          `INSERT INTO blobs (digest, size_bytes, chunks, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest) DO NOTHING`,
          [digest, sizeBytes, chunks, Date.now()],
        );
        if ((inserted.rowCount ?? 0) > 0) {
          await c.query('UPDATE blob_chunks SET blob = $1 WHERE blob = $2', [digest, upload]);
        } else {
          await c.query('DELETE FROM blob_chunks WHERE blob = $1', [upload]);
        }
      });
      return { digest, sizeBytes };
    } catch (e) {
      await this.db.query('DELETE FROM blob_chunks WHERE blob = $1', [upload]).catch(() => {});
      throw e;
    }
  }

  async stat(digest: string): Promise<BlobInfo | null> {
    const { rows } = await this.db.query<{ size_bytes: number }>(
      'SELECT size_bytes FROM blobs WHERE digest = $1',
      [digest],
    );
    return rows[0] ? { digest, sizeBytes: rows[0].size_bytes } : null;
  }

  async read(digest: string): Promise<AsyncIterable<Buffer> | null> {
    const { rows } = await this.db.query<{ chunks: number }>('SELECT chunks FROM blobs WHERE digest = $1', [
      digest,
    ]);
    if (!rows[0]) return null;
    const total = rows[0].chunks;
    const db = this.db;
    return (async function* () {
      for (let next = 0; next < total; ) {
        const page = await db.query<{ n: number; data: Buffer }>(
          'SELECT n, data FROM blob_chunks WHERE blob = $1 AND n >= $2 ORDER BY n LIMIT $3',
          [digest, next, CHUNKS_PER_READ],
        );
        // Removed while being read: say so rather than hand over a truncated file.
        if (page.rows.length === 0 || page.rows[0]!.n !== next)
          throw new Error(`blob ${digest} was removed while read`);
        for (const row of page.rows) {
          next = row.n + 1;
          yield row.data;
        }
      }
    })();
  }

  async remove(digest: string): Promise<boolean> {
    return transaction(this.db, async (c) => {
      const r = await c.query('DELETE FROM blobs WHERE digest = $1', [digest]);
      await c.query('DELETE FROM blob_chunks WHERE blob = $1', [digest]);
      return (r.rowCount ?? 0) > 0;
    });
  }

  async list(storedBefore = Number.POSITIVE_INFINITY): Promise<string[]> {
    const { rows } = await this.db.query<{ digest: string }>(
      'SELECT digest FROM blobs WHERE created_at < $1 ORDER BY digest',
      [Number.isFinite(storedBefore) ? storedBefore : Number.MAX_SAFE_INTEGER],
    );
    return rows.map((r) => r.digest);
  }

  async purgeAbandoned(before: number): Promise<number> {
    const { rows } = await this.db.query<{ uploads: number }>(
      `WITH idle AS (
         SELECT blob FROM blob_chunks WHERE blob LIKE 'upload:%' GROUP BY blob HAVING MAX(written_at) < $1
       ), gone AS (
         DELETE FROM blob_chunks WHERE blob IN (SELECT blob FROM idle) RETURNING blob
       )
       SELECT COUNT(DISTINCT blob) AS uploads FROM gone`,
      [before],
    );
    return rows[0]?.uploads ?? 0;
  }
}
