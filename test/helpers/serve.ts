/**
 * `maas serve` as a real child process on a real socket (port 0), for tests and benchmarks that
 * need the whole server: resolves once it prints `maas listening on URL`. The zoo's background
 * training is OFF unless asked (`zoo: 'quick'`), so no test trains the zoo by accident.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../..');

/** Node flags every documented way of starting the server passes (package.json's start script,
 * bin/maas.js's shebang, deploy/): tests and benchmarks run the server as users do. */
export const SERVE_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

export interface ServeOptions {
  dataDir: string;
  adminKey: string;
  /** MAAS_ZOO (default `off`). */
  zoo?: 'off' | 'quick' | 'auto';
  /** Default `warn`. */
  logLevel?: string;
  /** More `maas serve` flags, e.g. `['--shutdown-grace-ms', '3000']`. */
  flags?: string[];
  /** The checkout to run (default this one); a benchmark may compare another commit's tree. */
  root?: string;
  /** More environment variables, e.g. `{ MAAS_TRAIN_LEASE_MS: '1500' }`. */
  env?: Record<string, string>;
  /** More Node flags for the server, after SERVE_NODE_FLAGS, e.g. `['--cpu-prof']`. */
  nodeArgs?: string[];
  /**
   * `source` (default): src/ through tsx, as the tests run it. `built`: dist/maas.js, what `npm
   * start` runs (build it first: `npm run build`).
   */
  entry?: 'source' | 'built';
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited (at once if it already has). */
  exited(): Promise<void>;
  /** Send `signal` (default SIGTERM) and wait for the exit; nothing if already gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnServe(o: ServeOptions): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      ...SERVE_NODE_FLAGS,
      ...(o.nodeArgs ?? []),
      ...(o.entry === 'built' ? ['dist/maas.js'] : ['--import', 'tsx', 'src/cli/main.ts']),
      'serve',
      '--port',
      '0',
      '--data-dir',
      o.dataDir,
      '--log-level',
      o.logLevel ?? 'warn',
      ...(o.flags ?? []),
    ],
    {
      cwd: o.root ?? REPO_ROOT,
      env: { ...process.env, MAAS_ADMIN_KEY: o.adminKey, MAAS_ZOO: o.zoo ?? 'off', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : gone);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited();
  };
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /maas listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], output: () => out, exited, stop });
    });
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
  });
}
