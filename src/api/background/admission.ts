/**
 * Background work is admitted when it is created, not when it runs: a tenant over its rate limit
 * or its monthly quota hears it from `POST /api/v1/predictions` (or `POST /v1/batches`) at once,
 * with the synchronous routes' 429 `rate_limited` / `quota_exceeded` and rate-limit headers,
 * rather than from a prediction that fails later.
 *
 * The create charges one request to the key's and tenant's request buckets and reserves one unit
 * (unit buckets and monthly quota: a spent quota refuses it). When the work runs, that unit is
 * given back (`releaseCreateCharge`) and the route's own admission reserves and settles the real
 * units as over HTTP, as a principal whose request buckets are not charged again
 * (`alreadyCharged`): one request, charged once.
 */
import type { Platform } from '../../platform/platform';
import type { AdmissionTicket } from '../../platform/tenancy/admission';
import type { Principal } from '../../store/tenancy/types';
import type { RouteContext } from '../route';

/** What a create reserved, kept on the row until the work runs (or is canceled first). */
export type CreateCharge = Pick<AdmissionTicket, 'month' | 'reservedUnits' | 'specs'>;

/** Admits one request of `ctx.principal` now (throws the route's 429 when refused). */
export async function admitAtCreate(ctx: RouteContext): Promise<CreateCharge> {
  const ticket = await ctx.platform.tenancy.admission.admit(ctx.principal, 1);
  ctx.reply.headers(ticket.headers);
  return { month: ticket.month, reservedUnits: ticket.reservedUnits, specs: ticket.specs };
}

/** Gives back the unit a create reserved (its request stays charged). */
export async function releaseCreateCharge(
  platform: Platform,
  principal: Principal,
  charge: CreateCharge,
): Promise<void> {
  await platform.tenancy.admission.settle({ principal, ...charge }, 0);
}

/** `principal` with its request limits lifted: its request was charged at create. */
export function alreadyCharged(principal: Principal): Principal {
  const lift = ({ requestsPerMinute: _r, ...rest }: Principal['limits']['key']) => rest;
  return { ...principal, limits: { key: lift(principal.limits.key), tenant: lift(principal.limits.tenant) } };
}
