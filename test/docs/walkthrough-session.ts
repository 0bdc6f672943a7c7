/**
 * Runs one doc's walk-through commands as a reader would: one bash session (exports carry over),
 * `maas` on the PATH, the working folder a mirror of the checkout without its `data/`, and the
 * server of the doc's `<!-- walkthrough: server -->` block started by the test.
 *
 * Rewrites keep runs apart without changing what the doc says: an absolute `/tmp/…` path in a
 * command is moved under the test's temp folder, the doc's server address (127.0.0.1 and the port
 * it names, default 8080) becomes the real one (the test's server takes a free port), and
 * `./bin/maas.js` is `maas` (the build under test). Output is mapped back before it is compared.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DocCommand } from './walkthrough-blocks';

export interface CommandResult {
  rc: number;
  output: string;
}

export interface Workspace {
  /** The temp folder: `checkout/` (the mirror, the session's cwd), `tmp/` (for /tmp/… paths), `bin/`. */
  root: string;
  checkout: string;
}

/** The environment of a reader's shell: no MAAS_* setting of the test runner leaks in. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('MAAS_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return env;
}

/** A mirror of the checkout (symlinks, without data/ and dist/) and a `maas` that runs `entry`. */
export async function makeWorkspace(root: string, repo: string, entry: string): Promise<Workspace> {
  const checkout = join(root, 'checkout');
  await mkdir(checkout, { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await mkdir(join(root, 'bin'), { recursive: true });
  for (const name of await readdir(repo)) {
    if (name === 'data' || name === '.git' || name === '.vitest') continue;
    await symlink(join(repo, name), join(checkout, name));
  }
  const shim = join(root, 'bin', 'maas');
  await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${entry}" "$@"\n`);
  await chmod(shim, 0o755);
  return { root, checkout };
}

/** Rewrites between the doc's text and this run: `toRun` for commands, `toDoc` for output. */
export class Rewrites {
  private pairs: [doc: string, real: string][] = [];
  constructor(ws: Workspace) {
    this.pairs.push(['/tmp/', `${join(ws.root, 'tmp')}/`]);
  }
  add(doc: string, real: string): void {
    this.pairs.unshift([doc, real]);
  }
  toRun(text: string): string {
    // `./bin/maas.js` and `node bin/maas.js` are `maas` (README): the build under test, not dist/.
    let out = text.replace(/(?<![\w/.])(?:node\s+)?(?:\.\/)?bin\/maas\.js\b/g, 'maas');
    for (const [doc, real] of this.pairs) {
      // `/tmp/` only where a path starts, so a rewritten path is never rewritten again.
      const at = doc === '/tmp/' ? /(?<![\w./-])\/tmp\//g : new RegExp(escapeRegExp(doc), 'g');
      out = out.replace(at, real);
    }
    return out;
  }
  toDoc(text: string): string {
    let out = text;
    for (const [doc, real] of this.pairs) out = out.split(real).join(doc);
    return out;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface DocServer {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the doc's server block (`npm start` or `maas serve`, with its environment and flags) on
 * a free port; MAAS_ZOO is `off` unless the command sets it.
 */
export async function startDocServer(cmd: DocCommand, ws: Workspace, rw: Rewrites): Promise<DocServer> {
  const port = /MAAS_PORT=(\d+)|--port[ =](\d+)/.exec(cmd.text);
  const docPort = port ? (port[1] ?? port[2]) : '8080';
  const text = rw
    .toRun(cmd.text)
    .replace(/\bnpm start\b/, 'maas serve')
    .replace(/MAAS_PORT=\d+\s*/, '')
    .replace(/--port[ =]\d+/, '');
  const env = { ...cleanEnv(), PATH: `${join(ws.root, 'bin')}:${process.env.PATH}`, MAAS_ZOO: 'off' };
  const child: ChildProcess = spawn('bash', ['-c', `${text} --port 0`], {
    cwd: ws.checkout,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /maas listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the doc's server exited (${code}): ${out}`)));
  });
  rw.add(`http://127.0.0.1:${docPort}`, url);
  return {
    url,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid)
        process.kill(-child.pid, 'SIGKILL');
      await gone;
    },
  };
}

/** Runs `cmds` in one bash session, in order; one result per command (output: stdout and stderr). */
export async function runSession(
  cmds: DocCommand[],
  ws: Workspace,
  rw: Rewrites,
  serverUrl: string | undefined,
  timeoutMs: number,
): Promise<CommandResult[]> {
  const tag = `walk-${process.pid}-${Date.now()}`;
  const script = cmds
    .map(
      (c, i) =>
        `printf '\\n<<<${tag} ${i}>>>\\n'\n{\n:\n${rw.toRun(c.text)}\n} 2>&1\nprintf '\\n<<<${tag} rc %d>>>\\n' $?`,
    )
    .join('\n');
  const env: Record<string, string> = { ...cleanEnv(), PATH: `${join(ws.root, 'bin')}:${process.env.PATH}` };
  if (serverUrl) env.MAAS_URL = serverUrl;
  const child = spawn('bash', ['-c', script], {
    cwd: ws.checkout,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), timeoutMs);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  clearTimeout(timer);
  const results: CommandResult[] = [];
  const parts = out.split(new RegExp(`\\n<<<${tag} (\\d+)>>>\\n`));
  for (let i = 1; i < parts.length; i += 2) {
    const m = new RegExp(`([\\s\\S]*)\\n<<<${tag} rc (\\d+)>>>\\n?$`).exec(parts[i + 1]);
    results[Number(parts[i])] = m
      ? { rc: Number(m[2]), output: rw.toDoc(m[1]) }
      : {
          rc: -1,
          output: `${rw.toDoc(parts[i + 1])}\n(no exit status: the session was stopped after ${timeoutMs} ms)`,
        };
  }
  return results;
}
