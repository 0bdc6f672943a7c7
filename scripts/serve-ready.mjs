// Starts the compiled server (`node dist/maas.js serve`) on a free port with the data folder given
// (argv[2]) and the zoo off, stops it (SIGTERM) as soon as it prints `maas listening on`, and exits
// when it has: a timing harness (hyperfine) measures a start, plus a drain of an idle server. Used by scripts/start-times.sh.
import { spawn } from 'node:child_process';

const dataDir = process.argv[2];
if (!dataDir) {
  console.error('usage: node scripts/serve-ready.mjs DATA_DIR');
  process.exit(2);
}
const child = spawn(
  process.execPath,
  ['--max-semi-space-size=64', 'dist/maas.js', 'serve', '--port', '0', '--data-dir', dataDir],
  {
    env: { ...process.env, MAAS_ZOO: 'off', MAAS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let out = '';
let ready = false;
child.stdout.on('data', (d) => {
  out += d;
  if (!ready && out.includes('maas listening on')) {
    ready = true;
    // SIGTERM and wait: the child's CPU time counts in this process's (hyperfine's User/System).
    child.kill('SIGTERM');
  }
});
child.once('exit', (code) => {
  if (!ready) console.error(`the server exited (${code}) before it was ready:\n${out}`);
  process.exit(ready ? 0 : 1);
});
