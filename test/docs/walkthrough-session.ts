/**
 * Runs one doc's walk-through commands as a reader would: one bash session (exports carry over),
 * `maas` on the PATH, the working folder a mirror of the checkout without its `data/`, and the
 * server of the doc's `<!-- walkthrough: server -->` block started by the test.
 *
 * Rewrites keep runs apart without changing what the doc says: an absolute `/tmp/…` path in a
 * command is moved under the test's temp folder, the doc's server address (127.0.0.1 and the port
 * it names, default 8080) becomes the real one (the test's server takes a free port), and
 * `./bin/maas.js` is `maas` (the build under test). Output is mapped back before it is compared.
 *
 * Servers a doc starts itself in the background (`maas serve … --port N &`, the cluster
 * walk-through of docs/deploy.md, or a `redis-server --port N &`) run as the reader runs them,
 * with two differences: every port they name moves by one offset to free ones (so
 * `$((18101 + 1))` still names the second), and the session waits for each `maas serve`'s
 * `maas listening on` line and shows it as that command's output (a reader waits for it too), its
 * log going to a file. Whatever a session left running is killed when it ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DocCommand } from './walkthrough-blocks';

export interface CommandResult {
  rc: number;
  output: string;
  /** Wall seconds the command took (shown by WALKTHROUGH_SHOW=1, to check a doc's stated times). */
  seconds?: number;
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
  /** doc text, real text, where the doc text stands, where the real text stands (whole only). */
  private pairs: [doc: string, real: string, at: RegExp, back?: RegExp][] = [];
  constructor(ws: Workspace) {
    // `/tmp/` only where a path starts (or in a `file:///tmp/…` URL), so a rewritten path is
    // never rewritten again.
    this.pairs.push(['/tmp/', `${join(ws.root, 'tmp')}/`, /(?<![\w./-])\/tmp\/|(?<=file:\/\/)\/tmp\//g]);
  }
  add(doc: string, real: string): void {
    this.pairs.unshift([doc, real, new RegExp(escapeRegExp(doc), 'g')]);
  }
  /** A port the doc names (`18101`), as a whole number only, moved to a free one. */
  addPort(doc: number, real: number): void {
    const whole = (n: number) => new RegExp(`(?<![\\w.])${n}(?![\\w.])`, 'g');
    // Both ways as whole numbers: a timestamp, id or digest holding the real port's digits is kept.
    this.pairs.unshift([String(doc), String(real), whole(doc), whole(real)]);
  }
  toRun(text: string): string {
    // `./bin/maas.js` and `node bin/maas.js` are `maas` (README): the build under test, not dist/.
    let out = text.replace(/(?<![\w/.])(?:node\s+)?(?:\.\/)?bin\/maas\.js\b/g, 'maas');
    for (const [, real, at] of this.pairs) out = out.replace(at, real);
    return out;
  }
  toDoc(text: string): string {
    let out = text;
    for (const [doc, real, , back] of this.pairs)
      out = back ? out.replace(back, doc) : out.split(real).join(doc);
    return out;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `… maas serve … &`: a server the doc starts in the background itself (the command after `toRun`). */
const BACKGROUND_SERVER = /^([\s\S]*\bmaas serve\b[\s\S]*?)\s*&\s*$/;

/**
 * The ports (`--port N`) of the servers the doc starts in the background (`maas serve … &`, or
 * a `redis-server --port N … &` of its own).
 */
export function backgroundPorts(cmds: DocCommand[]): number[] {
  const ports = new Set<number>();
  for (const c of cmds) {
    const port = /--port[ =](\d+)[\s\S]*&\s*$/.exec(c.text);
    if (port) ports.add(Number(port[1]));
  }
  return [...ports].sort((a, b) => a - b);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Where moved ports go: below Linux's ephemeral range (32768 and up), from which outgoing
 * connections take their local ports, so none is taken between the check and the server's start.
 */
const MOVED_PORTS = { low: 20_000, high: 32_000 };

/**
 * Moves `ports` (sorted) by one offset to ports that are free here (so arithmetic on them in the
 * doc still holds), and adds the rewrites.
 */
export async function movePorts(ports: number[], rw: Rewrites): Promise<void> {
  if (ports.length === 0) return;
  const span = ports[ports.length - 1] - ports[0];
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = MOVED_PORTS.low + Math.floor(Math.random() * (MOVED_PORTS.high - MOVED_PORTS.low - span));
    const offset = start - ports[0];
    const free = await Promise.all(ports.map((p) => portFree(p + offset)));
    if (free.every(Boolean)) {
      for (const p of ports) rw.addPort(p, p + offset);
      return;
    }
  }
  throw new Error(`no free ports for the doc's servers on ${ports.join(', ')}`);
}

/**
 * Bash: waits for a background server's `maas listening on` line (up to 2 min, or until it
 * exits) and prints it, or its whole log when it never listened (the test then shows why).
 */
const WAIT_LISTENING = `walk_listening() {
  local n=0
  until grep -q 'maas listening on' "$1"; do
    kill -0 "$2" 2>/dev/null && [ $n -lt 1200 ] || break
    n=$((n + 1)); sleep 0.1
  done
  grep -m1 'maas listening on' "$1" || { cat "$1"; return 1; }
}`;

/** A command as the session runs it: a background server logs to a file and is waited for. */
export function sessionCommand(text: string, index: number, logDir: string): string {
  const bg = BACKGROUND_SERVER.exec(text);
  if (!bg) return text;
  const log = join(logDir, `server-${index}.log`);
  return `${bg[1]} > '${log}' 2>&1 &\nwalk_listening '${log}' $!`;
}

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

/** Whatever the session left running in the background (its servers): killed with its group. */
function killLeftovers(group: number | undefined): void {
  try {
    if (group) process.kill(-group, 'SIGKILL');
  } catch {
    // Nothing was left running.
  }
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
  const logDir = join(ws.root, 'logs');
  await mkdir(logDir, { recursive: true });
  const script = [WAIT_LISTENING]
    .concat(
      cmds.map(
        (c, i) =>
          `printf '\\n<<<${tag} ${i} %s>>>\\n' "$EPOCHREALTIME"\n{\n:\n${sessionCommand(rw.toRun(c.text), i, logDir)}\n} 2>&1\nprintf '\\n<<<${tag} rc %d %s>>>\\n' $? "$EPOCHREALTIME"`,
      ),
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
  killLeftovers(child.pid);
  const results: CommandResult[] = [];
  // Each command's output sits between `<<<tag INDEX START>>>` and `<<<tag rc STATUS END>>>`.
  const parts = out.split(new RegExp(`\\n<<<${tag} (\\d+) ([\\d.,]+)>>>\\n`));
  const clock = (t: string) => Number(t.replace(',', '.'));
  for (let i = 1; i < parts.length; i += 3) {
    const body = parts[i + 2];
    const m = new RegExp(`([\\s\\S]*)\\n<<<${tag} rc (\\d+) ([\\d.,]+)>>>\\n?$`).exec(body);
    results[Number(parts[i])] = m
      ? { rc: Number(m[2]), output: rw.toDoc(m[1]), seconds: clock(m[3]) - clock(parts[i + 1]) }
      : {
          rc: -1,
          output: `${rw.toDoc(body)}\n(no exit status: the session was stopped after ${timeoutMs} ms)`,
        };
  }
  return results;
}
