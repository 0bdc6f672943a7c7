// Starts the compiled server (`node dist/maas.js serve`) on a free port with the data folder given
// (argv[2]) and the zoo off, and exits as soon as it prints `maas listening on`: a timing harness
// (hyperfine) measures how long a start takes. Used by scripts/start-times.sh.
import { spawn } from 'node:child_process';

const dataDir = process.argv[2];
if (!dataDir) {
  console.error('usage: node scripts/serve-ready.mjs DATA_DIR');
  process.exit(2);
}
const child = spawn(process.execPath, ['dist/maas.js', 'serve', '--port', '0', '--data-dir', dataDir], {
  env: { ...process.env, MAAS_ZOO: 'off', MAAS_LOG_FORMAT: 'json' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  if (out.includes('maas listening on')) {
    child.kill('SIGKILL');
    process.exit(0);
  }
});
child.once('exit', (code) => {
  console.error(`the server exited (${code}) before it was ready:\n${out}`);
  process.exit(1);
});
