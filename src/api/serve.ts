/**
 * Start the server for real: open the platform, listen, start the role's background work
 * (MAAS_ROLE: training jobs and the zoo's missing rows as jobs, and in the leader housekeeping), and
 * drain on SIGTERM/SIGINT
 * (readiness 503 → wait `shutdownGraceMs` → stop accepting → in-flight requests finish, bounded
 * by `drainTimeoutMs` → release models and the store → resolve).
 */
import { join } from 'node:path';
import type { Config } from '../platform/config';
import { redactConfig } from '../platform/config';
import { openPlatform, type Platform } from '../platform/platform';
import { startRole } from '../platform/roles';
import { batchesOf } from './batches/service';
import { adminKeyBanner } from './console';
import { predictionsOf } from './predictions/service';
import { routeTable } from './routes';
import { buildServer } from './server';

export interface RunningServer {
  url: string;
  platform: Platform;
  /** Drain and stop; idempotent. */
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  print: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<RunningServer> {
  const platform = await openPlatform(config);
  // A worker answers only the health routes (probes of an orchestrator); the API is the api's.
  const routes = config.role === 'worker' ? routeTable.filter((r) => r.access === 'public') : routeTable;
  const { app, state, dropUnfinishedBodies } = buildServer(platform, routes);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  app.log.info({ config: redactConfig(config) }, 'configuration');
  // One write, so that no log line from another stream lands inside the frame.
  if (platform.generatedAdminKey)
    print(adminKeyBanner(platform.generatedAdminKey, join(config.dataDir, 'admin.key')).join('\n'));
  // Zoo models missing from the registry are queued as jobs of the `zoo` tenant and trained in a
  // niced child process (MAAS_ZOO) of whichever process claims them; the server log shows their
  // progress, GET /api/v1/zoo their state (from the jobs, the same on every process). Queued (not
  // trained) before the listening line, so a client that waits for it sees every missing row queued.
  const background = await startRole(platform, (line) => app.log.info(line));
  // Asynchronous predictions and their webhooks run where the API is served.
  const predictions = config.role === 'worker' ? null : predictionsOf(platform);
  await predictions?.start();
  // Batches left unfinished by the last start resume where they stopped.
  if (predictions) batchesOf(platform).start();
  // The embedded default prints the plain line; a cluster process says what it is.
  const what = config.role === 'all' ? '' : ` (role ${config.role}${background.leading() ? ', leader' : ''})`;
  print(`maas listening on ${url}${what}`);

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      state.draining = true;
      if (config.shutdownGraceMs > 0) await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
      // Requests still sending their body would hold the drain until their body timeout.
      dropUnfinishedBodies();
      // Wait for in-flight answers to be flushed BEFORE closing: Node's close() destroys sockets
      // whose response has ended even if bytes are still buffered, cutting large answers short.
      const deadline = Date.now() + config.drainTimeoutMs;
      while (state.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const force = setTimeout(() => app.server.closeAllConnections(), Math.max(0, deadline - Date.now()));
      force.unref();
      await app.close();
      clearTimeout(force);
      await predictions?.stop();
      await batchesOf(platform).stop();
      await background.stop();
      await platform.close();
    })();
    return stopping;
  };
  return { url, platform, stop };
}

/** Exit cleanly on SIGTERM/SIGINT after draining. */
export function stopOnSignals(server: RunningServer): void {
  const onSignal = (signal: string) => {
    process.stdout.write(`${signal}: draining\n`);
    // Do not process.exit() at once: the last responses may still sit in socket buffers.
    // Let the event loop empty itself; the unref'd timer only catches a handle left open.
    server.stop().then(
      () => {
        process.exitCode = 0;
        setTimeout(() => process.exit(0), 5000).unref();
      },
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
