/**
 * Every ```console block of README.md and docs/*.md runs as written (convention in
 * ./walkthrough-blocks.ts and docs/cli.md): per doc, one bash session against the server its
 * `<!-- walkthrough: server -->` block starts (the compiled CLI, built fresh, on a free port,
 * data in a temp folder; servers a doc starts itself with `&`, as in docs/deploy.md, on free ports),
 * each command's exit status and shown output checked; two docs at a
 * time (a pool of two). Blocks marked
 * `<!-- walkthrough: skip REASON -->` are not run; one test per doc lists them and checks each
 * names its reason.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/postgres';
import { REPO_ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';
import { consoleBlocks, type DocBlock, expectedStatus, missingLines } from './walkthrough-blocks';
import {
  backgroundPorts,
  type CommandResult,
  type DocServer,
  makeWorkspace,
  movePorts,
  Rewrites,
  runSession,
  startDocServer,
} from './walkthrough-session';

const run = promisify(execFile);
// Inside the checkout, so the bundle resolves its packages from node_modules like dist/ does.
const OUT = `.vitest/walkthrough-${process.pid}`;
// docs/deploy.md starts nine maas servers one after another: 204 s at load 24–28.
const SESSION_TIMEOUT_MS = 360_000;
/** Docs run two at a time: each is a server and a shell, mostly waiting on each other. */
const CONCURRENT_DOCS = 2;
/** WALKTHROUGH_SHOW=1 prints every command's real output (to paste into a doc after a change). */
const SHOW = process.env.WALKTHROUGH_SHOW === '1';
/** WALKTHROUGH_ONLY=docs/a.md,README.md runs only these docs (while editing them). */
const ONLY = process.env.WALKTHROUGH_ONLY?.split(',');

const docFiles = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const read = docFiles
  .map((file) => ({ file, blocks: consoleBlocks(file, readFileSync(join(REPO_ROOT, file), 'utf8')) }))
  .filter((d) => d.blocks.length > 0 && (!ONLY || ONLY.includes(d.file)));
const needsPostgres = (b: DocBlock) => b.mark.kind === 'run' && b.mark.needs === 'postgres';
// Blocks that need PostgreSQL run when it answers (always in CI); otherwise they are listed as not run.
const postgresUp =
  read.some((d) => d.blocks.some(needsPostgres)) && (await postgresAvailable('the docs walk-throughs'));
const docs = read.map((d) => ({
  file: d.file,
  blocks: d.blocks.map(
    (b): DocBlock =>
      needsPostgres(b) && !postgresUp
        ? { ...b, mark: { kind: 'skip', reason: 'needs PostgreSQL, not reachable here' } }
        : b,
  ),
}));

/** A command's output as WALKTHROUGH_SHOW prints it, with the seconds it took. */
function shown(r: CommandResult | undefined): string {
  if (!r) return '(not run)';
  return r.seconds === undefined ? r.output : `${r.output}\n(${r.seconds.toFixed(1)} s)`;
}

interface DocRun {
  results: Map<DocBlock, CommandResult[]>;
}
const runs = new Map<string, Promise<DocRun>>();
const cleanups: (() => Promise<void>)[] = [];

/** Starts the doc's server (if it has a server block), runs its runnable blocks in one session. */
async function runDoc(file: string, blocks: DocBlock[]): Promise<DocRun> {
  const runnable = blocks.filter((b) => b.mark.kind === 'run');
  const serverBlock = blocks.find((b) => b.mark.kind === 'server');
  const ws = await tempDir('maas-walk-');
  let server: DocServer | undefined;
  cleanups.push(async () => {
    await server?.stop();
    await ws.remove();
  });
  const space = await makeWorkspace(ws.dir, REPO_ROOT, join(REPO_ROOT, OUT, 'maas.js'));
  const rw = new Rewrites(space);
  if (serverBlock) server = await startDocServer(serverBlock.commands[0], space, rw);
  const cmds = runnable.flatMap((b) => b.commands);
  // Servers the doc starts itself (`maas serve --port N &`) move to free ports.
  await movePorts(backgroundPorts(cmds), rw);
  const started = Date.now();
  const all = await runSession(cmds, space, rw, server?.url, SESSION_TIMEOUT_MS).finally(() =>
    server?.stop(),
  );
  console.log(`${file}: ${cmds.length} commands in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (SHOW) console.log(cmds.map((c, i) => `$ ${c.text}\n${shown(all[i])}`).join('\n'));
  const results = new Map<DocBlock, CommandResult[]>();
  let at = 0;
  for (const b of runnable) {
    results.set(b, all.slice(at, at + b.commands.length));
    at += b.commands.length;
  }
  return { results };
}

beforeAll(async () => {
  await run(process.execPath, ['scripts/build.mjs', '--outdir', OUT], { cwd: REPO_ROOT });
  // A pool: each of CONCURRENT_DOCS workers takes the next doc when its own is done, so a doc that
  // trains for a minute does not hold up the docs queued behind it.
  const queue = docs
    .filter((d) => d.blocks.some((b) => b.mark.kind === 'run'))
    .map((d) => ({ doc: d, ...withResolvers<DocRun>() }));
  for (const q of queue) {
    q.promise.catch(() => {}); // reported by the doc's own tests
    runs.set(q.doc.file, q.promise);
  }
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const q = queue[next++];
      await runDoc(q.doc.file, q.doc.blocks).then(q.resolve, q.reject);
    }
  };
  for (let i = 0; i < CONCURRENT_DOCS; i++) void worker();
}, 120_000);

/** Promise.withResolvers (Node 22) for Node 20. */
function withResolvers<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}
afterAll(async () => {
  await Promise.allSettled([...runs.values()]);
  for (const clean of cleanups) await clean();
  await rm(join(REPO_ROOT, OUT), { recursive: true, force: true });
});

function describeDoc(file: string, blocks: DocBlock[]): void {
  let done: DocRun | undefined;
  beforeAll(
    async () => {
      done = await runs.get(file);
    },
    2 * SESSION_TIMEOUT_MS + 60_000,
  );

  // Blocks marked skip are not run; the doc must say why each cannot run here (listed, not hidden).
  const notRun = blocks.filter((b) => b.mark.kind === 'skip');
  if (notRun.length > 0) {
    const lines = notRun.map((b) => `${file}:${b.line} (${b.mark.kind === 'skip' ? b.mark.reason : ''})`);
    it(`not run, each with its reason: ${lines.join('; ')}`, () => {
      for (const b of notRun) {
        const reason = b.mark.kind === 'skip' ? b.mark.reason.trim() : '';
        expect(
          reason.length,
          `${file}:${b.line} needs a reason after "walkthrough: skip"`,
        ).toBeGreaterThanOrEqual(10);
      }
    });
  }
  for (const block of blocks) {
    const name = `${file}:${block.line}`;
    if (block.mark.kind === 'skip') continue;
    if (block.mark.kind === 'server') {
      it(`${name} starts the server`, () => {
        if (block !== blocks.find((b) => b.mark.kind === 'server'))
          throw new Error('one server block per doc');
        expect(done).toBeDefined();
      });
    } else {
      it(name, () => {
        const got = done?.results.get(block) ?? [];
        const problems = block.commands.flatMap((cmd, i) => {
          const r = got[i];
          if (!r) return [`line ${cmd.line}: not run (an earlier command hung?)\n$ ${cmd.text}`];
          const status = expectedStatus(cmd);
          const wrong: string[] = [];
          if ((status === 'fails' && r.rc === 0) || (status === 'succeeds' && r.rc !== 0))
            wrong.push(`exit status ${r.rc}, expected ${status === 'fails' ? 'non-zero' : '0'}`);
          const missing = missingLines(cmd.expected, r.output);
          if (missing.length > 0) wrong.push(`shown lines not printed:\n  ${missing.join('\n  ')}`);
          return wrong.length === 0
            ? []
            : [`line ${cmd.line}: $ ${cmd.text}\n${wrong.join('\n')}\n--- got:\n${r.output}`];
        });
        expect(problems.join('\n\n')).toBe('');
      });
    }
  }
}

for (const { file, blocks } of docs) describe(file, () => describeDoc(file, blocks));
