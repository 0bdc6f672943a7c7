/**
 * Runs a route's handler with no HTTP request behind it: asynchronous predictions and OpenAI
 * batch lines call the very handlers of the synchronous routes (`/api/v1/models/m/generate`,
 * `/v1/chat/completions`, ...), so input validation, admission (rate limits, quotas), metering and
 * the answer's shape are theirs, not a copy. The context is what those handlers read: the
 * platform, the caller's principal, params, query, body, and a request/reply pair whose socket
 * "closes" when `signal` aborts (the handlers' `disconnectSignal` then cancels the work, as when a
 * client hangs up).
 */

import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/auth/auth';
import type { Platform } from '../../platform/platform';
import { callerOf, type Priority } from '../../platform/serving/caller';
import type { RouteContext, RouteSpec } from '../route';

export interface BackgroundCall {
  params: Record<string, string>;
  query?: Record<string, string>;
  body: unknown;
}

/** What a handler set on its reply: headers (rate-limit state, content type). */
export interface CapturedReply {
  headers: Record<string, string>;
}

function detachedPair(signal: AbortSignal, captured: CapturedReply) {
  const socket = Object.assign(new EventEmitter(), { readableEnded: false, destroyed: false });
  const raw = Object.assign(new EventEmitter(), { writableFinished: false });
  const hangUp = () => {
    socket.destroyed = true;
    socket.emit('close');
    raw.emit('close');
  };
  if (signal.aborted) hangUp();
  else signal.addEventListener('abort', hangUp, { once: true });
  const request = { raw: { socket }, headers: {} as Record<string, string> };
  const reply = {
    raw,
    sent: false,
    header(name: string, value: unknown) {
      captured.headers[name.toLowerCase()] = String(value);
      return reply;
    },
    headers(all: Record<string, unknown>) {
      for (const [k, v] of Object.entries(all)) reply.header(k, v);
      return reply;
    },
  };
  return { request: request as unknown as FastifyRequest, reply: reply as unknown as FastifyReply };
}

/** Calls `spec`'s handler as `principal` would over HTTP; resolves with the handler's answer. */
export async function runRoute(
  platform: Platform,
  principal: Principal,
  spec: RouteSpec,
  call: BackgroundCall,
  signal: AbortSignal,
  captured: CapturedReply = { headers: {} },
  priority: Priority = 'interactive',
): Promise<unknown> {
  const pair = detachedPair(signal, captured);
  const ctx: RouteContext = {
    platform,
    state: { draining: false, inflight: 0 },
    routes: [],
    principal,
    // The model queues see the tenant (fair turns, its cap) and the priority, as for a request.
    caller: callerOf(principal.tenantId, principal.limits.tenant, priority),
    params: call.params,
    query: call.query ?? {},
    body: call.body,
    request: pair.request,
    reply: pair.reply,
  };
  // A stream answer (SSE) keeps running after this returns: the caller reads it, and `signal`
  // still cancels it.
  return spec.handler(ctx);
}
