import type { BucketState, RateDecision } from '../../store/tenancy/ports';

/**
 * Response headers for a rate-limit decision, in the two dialects clients read:
 *
 * OpenAI's (for the `/v1` surface and its SDKs), one trio per dimension, from the binding bucket
 * (the key's or the tenant's, whichever has less left):
 *   x-ratelimit-limit-requests: 100         x-ratelimit-limit-tokens: 10000
 *   x-ratelimit-remaining-requests: 99      x-ratelimit-remaining-tokens: 9750
 *   x-ratelimit-reset-requests: 59.4s       x-ratelimit-reset-tokens: 1m0s   (time to full)
 *
 * IETF draft-ietf-httpapi-ratelimit-headers (-11), every bucket as a named policy:
 *   RateLimit-Policy: "key-requests";q=100;w=60, "tenant-units";q=10000;w=60;maas-qu="units"
 *   RateLimit: "key-requests";r=99;t=60, "tenant-units";r=9750;t=58
 * `t` is the seconds within which at most `r` more can be used (until the oldest charge in the
 * sliding window leaves it and frees its share).
 * Units are not one of the draft's registered quota units (`requests`, `content-bytes`,
 * `concurrent-requests`), so unit policies carry a vendor parameter `maas-qu` instead of `qu`.
 *
 * And `Retry-After: <seconds>` when the request was refused.
 */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {};
  const trios = [
    ['requests', 'requests'],
    ['units', 'tokens'],
  ] as const;
  for (const [dimension, suffix] of trios) {
    const binding = bindingBucket(decision.buckets.filter((b) => b.dimension === dimension));
    if (binding === undefined) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(binding.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(binding.remaining);
    headers[`x-ratelimit-reset-${suffix}`] = formatDuration(binding.resetMs);
  }
  if (decision.buckets.length > 0) {
    headers['ratelimit-policy'] = decision.buckets.map(policyItem).join(', ');
    headers.ratelimit = decision.buckets
      .map((b) => `"${b.policy}";r=${b.remaining};t=${Math.ceil(b.nextUnitMs / 1000)}`)
      .join(', ');
  }
  if (!decision.allowed) headers['retry-after'] = String(retryAfterSeconds(decision.retryAfterMs));
  return headers;
}

/** Whole seconds for `Retry-After`: rounded up, and at least 1 so clients never spin. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function policyItem(b: BucketState): string {
  const unit = b.dimension === 'units' ? ';maas-qu="units"' : '';
  return `"${b.policy}";q=${b.limit};w=${Math.max(1, Math.ceil(b.windowMs / 1000))}${unit}`;
}

/** The bucket with the least left; on a tie, the one that takes longer to refill. */
function bindingBucket(buckets: readonly BucketState[]): BucketState | undefined {
  let best: BucketState | undefined;
  for (const b of buckets) {
    if (
      best === undefined ||
      b.remaining < best.remaining ||
      (b.remaining === best.remaining && b.resetMs > best.resetMs)
    ) {
      best = b;
    }
  }
  return best;
}

/**
 * Durations as OpenAI writes them (Go's `time.Duration` style), from whole ms:
 * 0 → `0s`, 600 → `600ms`, 1500 → `1.5s`, 60000 → `1m0s`, 90500 → `1m30.5s`.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = ((total % 60_000) / 1000).toString();
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
