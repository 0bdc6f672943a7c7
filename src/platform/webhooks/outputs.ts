/**
 * Files kept for prediction outputs (images, audio) are content-addressed artifacts: they must
 * count as referenced for as long as a prediction row names them, or housekeeping of a shared
 * blob store would remove them as orphans.
 */
import type { WorkItemRepository } from '../../store/work-ports';

const ALL = ['starting', 'processing', 'succeeded', 'failed', 'canceled'];

export async function referencedOutputDigests(items: WorkItemRepository): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of await items.byStatus('prediction', ALL, 1_000_000)) {
    const files = (p.data as { files?: { digest: string }[] }).files ?? [];
    for (const f of files) out.add(f.digest);
  }
  return out;
}
