import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { slowModel } from './helpers/onnx-fixtures';

writeFileSync('/tmp/dr/slow.onnx', slowModel(600));
const KEY = 'lifecycle-admin-key-0123456789';
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'serve',
    '--port',
    '0',
    '--data-dir',
    '/tmp/dr/data',
    '--log-level',
    'debug',
    '--shutdown-grace-ms',
    '1000',
  ],
  { env: { ...process.env, MAAS_ADMIN_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
);
let out = '';
child.stderr.on('data', (d) => {
  out += d;
});
const url: string = await new Promise((r) =>
  child.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (\S+)/.exec(out);
    if (m) r(m[1]);
  }),
);
const h = { authorization: `Bearer ${KEY}` };
const { readFileSync } = await import('node:fs');
let r = await fetch(`${url}/api/v1/models/slow/versions?max_batch_size=1`, {
  method: 'POST',
  headers: { ...h, 'content-type': 'application/octet-stream' },
  body: readFileSync('/tmp/dr/slow.onnx'),
});
console.log('push', r.status);
const body = JSON.stringify({
  inputs: [{ name: 'x', shape: [4, 256, 256], datatype: 'FP32', data: new Array(4 * 65536).fill(0.5) }],
});
const t0 = Date.now();
const inflight = fetch(`${url}/v2/models/slow/infer`, {
  method: 'POST',
  headers: { ...h, 'content-type': 'application/json' },
  body,
});
await new Promise((r) => setTimeout(r, 100));
child.kill('SIGTERM');
child.on('exit', (c) => console.log('exit', c, Date.now() - t0));
r = await inflight;
console.log('status', r.status, Date.now() - t0, r.headers.get('content-length'));
try {
  const t = await r.text();
  console.log('len', t.length, Date.now() - t0);
} catch (e) {
  console.log('ERR', e, Date.now() - t0);
}
console.log(
  out
    .split('\n')
    .filter((l) => !l.includes('"level":20'))
    .slice(-10)
    .join('\n'),
);
