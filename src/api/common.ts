/**
 * HTTP helpers every surface uses (native /api/v1, OpenAI /v1, KServe /v2, ops): the server's
 * name and version, and the signal that tells a handler its client went away.
 */
import { scheduleAs } from '../platform/serving/caller';
import type { RouteContext } from './route';

export const SERVER_NAME = 'maas';
export const SERVER_VERSION = '0.1.0';

/**
 * A signal that fires when the client goes away before its answer is written. It carries the
 * request's caller too: every model run given it is scheduled as that tenant's (caller.ts).
 */
export function disconnectSignal(ctx: RouteContext): AbortSignal {
  const controller = new AbortController();
  const res = ctx.reply.raw;
  const socket = ctx.request.raw.socket;
  // A FIN from the client ('end') is noticed in the same poll phase it arrives in; the
  // response's 'close' only after our side has closed too, which can be a whole run later.
  const gone = () => {
    if (!res.writableFinished) controller.abort();
  };
  const cleanup = () => {
    socket.off('end', gone);
    socket.off('close', gone);
  };
  socket.once('end', gone);
  socket.once('close', gone);
  // The FIN may have come before this handler ran (the body was parsed in the same poll phase).
  if (socket.readableEnded || socket.destroyed) controller.abort();
  res.once('close', () => {
    gone();
    cleanup();
  });
  res.once('finish', cleanup);
  return scheduleAs(controller.signal, ctx.caller);
}
