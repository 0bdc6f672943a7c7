/**
 * OpenAI's cursor pages: `?after=<id>&limit=<n>` over a list in its display order, answered as
 * `{object: "list", data, has_more, first_id, last_id}` (the SDK asks for the next page with
 * `after` = the last id it got, while `has_more` is true).
 */
import { fail } from '../../common/errors';

export interface ListQuery {
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
}

/** ISO time → Unix seconds (OpenAI's `created_at`); null stays null. */
export function seconds(iso: string | null): number {
  return iso === null ? 0 : Math.floor(Date.parse(iso) / 1000);
}

export function listQuery(query: Record<string, string>, maxLimit: number, defaultLimit = 20): ListQuery {
  const raw = query.limit;
  const limit = raw === undefined ? Math.min(defaultLimit, maxLimit) : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit)
    fail('invalid_request', `limit must be an integer from 1 to ${maxLimit}`, { pointer: 'limit' });
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    fail('invalid_request', "order must be 'asc' or 'desc'", { pointer: 'order' });
  const after = query.after;
  if (after !== undefined && (after.length === 0 || after.length > 200))
    fail('invalid_request', 'after must be an id from a previous page', { pointer: 'after' });
  return { after, limit, order };
}

/** The page after `q.after` (an unknown cursor reads as the end of the list). */
export function cursorPage<T extends { id: string }>(items: readonly T[], q: ListQuery) {
  const start = q.after === undefined ? 0 : items.findIndex((x) => x.id === q.after) + 1;
  const data = start === 0 && q.after !== undefined ? [] : items.slice(start, start + q.limit);
  return {
    object: 'list' as const,
    data,
    has_more: data.length > 0 && start + data.length < items.length,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  };
}
