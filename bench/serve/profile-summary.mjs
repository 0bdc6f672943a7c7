// Summarises a .cpuprofile (node --cpu-prof): self time by file (our src/ files by name, the
// rest by package), and the top functions. Usage: node bench/serve/profile-summary.mjs FILE [TOP]
// [FROM_US,TO_US] (a window of the monotonic clock, as bench/serve/profile.ts prints it).
import { readFileSync } from 'node:fs';

const [file, topArg, windowArg] = process.argv.slice(2);
const [fromUs, toUs] = windowArg ? windowArg.split(',').map(Number) : [0, Number.POSITIVE_INFINITY];
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += dt[i] ?? 0;
  if (at < fromUs || at > toUs) continue;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
}
const where = (url) => {
  if (!url) return '(native)';
  const src = /\/(src\/.*)$/.exec(url);
  if (src) return src[1];
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  return url.startsWith('node:') ? url : url.replace(/^.*\//, '');
};
const files = new Map();
const fns = new Map();
let total = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
    fns.set(name, (fns.get(name) ?? 0) + us);
    if (name === '(idle)') continue;
  }
  total += us;
  const w = where(f.url);
  files.set(w, (files.get(w) ?? 0) + us);
  const key = `${name} ${w}:${f.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}
const show = (m) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    )
    .join('\n');
console.log(
  `busy (non-idle) ${(total / 1000).toFixed(0)} ms\n\nby file:\n${show(files)}\n\nby function:\n${show(fns)}`,
);
