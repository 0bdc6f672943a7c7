/**
 * Start the server for real: open the platform, listen, and drain on SIGTERM/SIGINT
 * (readiness 503 → wait `shutdownGraceMs` → stop accepting → in-flight requests finish, bounded
 * by `drainTimeoutMs` → release models and the store → resolve).
 */
import type { Config } from '../platform/config';
import { redactConfig } from '../platform/config';
import { openPlatform, type Platform } from '../platform/platform';
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
  const { app, state } = buildServer(platform);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  app.log.info({ config: redactConfig(config) }, 'configuration');
  if (platform.generatedAdminKey) {
    print(`Generated an admin key (shown once; saved with mode 0600 in ${config.dataDir}/admin.key):`);
    print(`  ${platform.generatedAdminKey}`);
  }
  print(`maas listening on ${url}`);

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      state.draining = true;
      if (config.shutdownGraceMs > 0) await new Promise((r) => setTimeout(r, config.shutdownGraceMs));
      const force = setTimeout(() => app.server.closeAllConnections(), config.drainTimeoutMs);
      force.unref();
      await app.close();
      clearTimeout(force);
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
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
