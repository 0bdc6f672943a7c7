/**
 * The disk budget of a process's local copies of shared artifacts (MAAS_BLOB_STORE=postgres):
 * digests by last use (Map order, least recent first) with their sizes. It decides only what to
 * delete; the artifact store deletes the files.
 */
export class LruBytes {
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the files it accounts for. */
  get bytes(): number {
    return this.total;
  }

  /**
   * `digest` was used now (added when new). Returns the digests to delete to fit the budget, least
   * recently used first, never `digest` itself: the file just asked for stays even when it alone
   * is over the budget (its caller is about to read it).
   */
  use(digest: string, sizeBytes: number): string[] {
    this.forget(digest);
    this.sizes.set(digest, sizeBytes);
    this.total += sizeBytes;
    const evicted: string[] = [];
    for (const d of this.sizes.keys()) {
      if (this.total <= this.maxBytes) break;
      if (d === digest) continue;
      this.forget(d);
      evicted.push(d);
    }
    return evicted;
  }

  /** The file is gone (removed or evicted). */
  forget(digest: string): void {
    const size = this.sizes.get(digest);
    if (size === undefined) return;
    this.sizes.delete(digest);
    this.total -= size;
  }
}
