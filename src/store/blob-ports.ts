/**
 * The blob port: content-addressed bytes (model files, datasets, checkpoints) kept where every
 * process of a deployment can read them. A blob's key is `sha256:<hex>` of its bytes, computed by
 * the store while it writes, so a key always names exactly those bytes and storing the same bytes
 * twice keeps one copy.
 *
 * Adapters: PostgreSQL (`src/store/postgres/blobs.ts`: chunks in the database, so a cluster needs
 * only PostgreSQL and Redis). The file adapter is the artifact folder of `src/platform/artifacts`.
 */

export interface BlobInfo {
  /** `sha256:<hex>`. */
  digest: string;
  sizeBytes: number;
}

export interface BlobStore {
  /**
   * Stores the bytes; returns their digest and size. Idempotent: the same bytes again keep one
   * copy. Throws `payload_too_large` past `maxBytes` (nothing is kept then).
   */
  put(body: AsyncIterable<Uint8Array>, maxBytes?: number): Promise<BlobInfo>;
  /** Size of the blob, or null when absent. */
  stat(digest: string): Promise<BlobInfo | null>;
  /** The bytes in order, chunk by chunk (never all in memory); null when absent. */
  read(digest: string): Promise<AsyncIterable<Buffer> | null>;
  /** Returns whether it existed. */
  remove(digest: string): Promise<boolean>;
  /** Every stored digest, sorted; with `storedBefore` (epoch ms), only those stored before it. */
  list(storedBefore?: number): Promise<string[]>;
  /**
   * Deletes the chunks of uploads that never finished (their process died) and started before
   * `before` (epoch ms): the leader's housekeeping. Returns how many uploads it removed.
   */
  purgeAbandoned(before: number): Promise<number>;
}
