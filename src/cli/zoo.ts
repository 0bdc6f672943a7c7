/**
 * `maas zoo train|ls`: train the zoo in-process against the data folder (like `maas serve`, the
 * platform is opened directly; no server needs to run) and register each model as public model
 * `zoo~<name>`; list what is installed with its quality.
 *
 *   maas zoo train --only cppn,mnist-cnn --data-dir ./data [--quick]
 *   maas zoo ls [--url U] [--data-dir ./data]
 *
 * `zoo ls` asks the running server first (GET /api/v1/zoo: it alone knows what its background
 * training is doing, with progress and ETA); with no server at the URL it reads the data folder's
 * registry (installed or not).
 */
import { join } from 'node:path';
import { adminKeyBanner } from '../api/console';
import { zooEntries, zooEntry, zooUnavailable } from '../models/zoo/index';
import { loadConfig } from '../platform/config';
import { openPlatform, type Platform } from '../platform/platform';
import { installZooModel, ZOO_TENANT, type ZooStatusRow, zooStatus } from '../platform/zoo';
import { MaasApiError, type ZooModel } from '../sdk/client';
import { type CliIO, client, only, type Parsed, UsageError } from './shared';

async function withPlatform<T>(p: Parsed, io: CliIO, fn: (platform: Platform) => Promise<T>): Promise<T> {
  const flags: Record<string, string> = {};
  if (p.flags['--data-dir'] !== undefined) flags['--data-dir'] = p.flags['--data-dir'];
  const platform = await openPlatform(loadConfig(io.env, flags));
  try {
    // One write, so that no log line from another stream lands inside the frame.
    if (platform.generatedAdminKey)
      io.out(
        adminKeyBanner(platform.generatedAdminKey, join(platform.config.dataDir, 'admin.key')).join('\n'),
      );
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(4));

/** A row of the table: the server's view (state, progress) or the registry's alone. */
type TableRow = Pick<
  ZooStatusRow,
  'name' | 'family' | 'version' | 'quality' | 'meetsTarget' | 'scale' | 'trainSeconds'
> &
  Partial<Pick<ZooStatusRow, 'rivals' | 'unavailable'>> &
  Partial<Pick<ZooModel, 'state' | 'progress' | 'error'>>;

function note(r: TableRow): string {
  const p = r.progress;
  if (r.error) return r.error.slice(0, 120);
  // Not installed and not trainable here: how to make it available.
  if (r.version === null && r.unavailable) return r.unavailable;
  if (p) {
    const at = p.step !== null ? `step ${p.step}/${p.steps}` : (p.line ?? 'waiting');
    return p.etaSeconds === null ? at : `${at}, about ${Math.round(p.etaSeconds)} s left`;
  }
  return r.scale === 'quick' ? 'quick scale' : '-';
}

/** One table for both verbs: `zoo ls` rows, or the rows a `zoo train` just installed. */
export function zooTable(rows: TableRow[]): string[] {
  const lines = ['model\tfamily\tstate\tversion\tmetric\tvalue\ttarget\tok\ttrain_s\tnote'];
  for (const r of rows) {
    const q = r.quality;
    // A fixed target (">= 0.9850", "< 4.4981") and the installed rivals to beat ("< lstm-lm 2.2328").
    const bars = [
      ...(q?.target === undefined ? [] : [`${q.higherIsBetter ? '>=' : '<'} ${fmt(q.target)}`]),
      ...(r.rivals ?? []).map((x) => `${q?.higherIsBetter ? '>' : '<'} ${x.name} ${fmt(x.value)}`),
    ];
    const target = bars.length === 0 ? '-' : bars.join(', ');
    // No target (cppn: nothing is learned) → nothing to meet.
    const ok = r.meetsTarget === null || bars.length === 0 ? '-' : r.meetsTarget ? 'yes' : 'NO';
    lines.push(
      [
        r.name,
        r.family,
        r.state ?? (r.version !== null ? 'ready' : r.unavailable ? 'unavailable' : 'missing'),
        r.version === null ? '-' : String(r.version),
        q?.metric ?? '-',
        q ? fmt(q.value) : '-',
        q ? target : '-',
        ok,
        r.trainSeconds === null ? '-' : r.trainSeconds.toFixed(1),
        note(r),
      ].join('\t'),
    );
  }
  return lines;
}

async function train(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'zoo train');
  const entries = p.flags['--only']
    ? p.flags['--only'].split(',').map((n) => zooEntry(n.trim()))
    : zooEntries();
  const seedFlag = p.flags['--seed'];
  if (seedFlag !== undefined && !/^[0-9]{1,9}$/.test(seedFlag))
    throw new UsageError('--seed must be an integer');
  await withPlatform(p, io, async (platform) => {
    for (const e of entries) {
      const why = zooUnavailable(e);
      if (why) {
        io.out(`== ${e.name}: skipped, ${why}`);
        continue;
      }
      const seed = seedFlag === undefined ? e.seed : Number(seedFlag);
      io.out(`== ${e.name} (${e.family}, seed ${seed}): ${e.description}`);
      const t0 = performance.now();
      const artifact = await e.train({
        seed,
        scale: '--quick' in p.flags ? 'quick' : 'full',
        log: (line) => io.out(`  ${line}`),
      });
      const seconds = (performance.now() - t0) / 1000;
      const scale = '--quick' in p.flags ? 'quick' : 'full';
      const { version, created } = await installZooModel(platform, e.name, {
        artifact,
        seed,
        seconds,
        scale,
      });
      io.out(
        `  ${created ? 'installed' : 'unchanged:'} ${ZOO_TENANT}~${e.name} version ${version.version}` +
          ` (${artifact.quality.metric} ${fmt(artifact.quality.value)}, ${seconds.toFixed(1)} s)`,
      );
    }
    const names = new Set(entries.map((e) => e.name));
    io.out('');
    for (const line of zooTable((await zooStatus(platform)).filter((r) => names.has(r.name)))) io.out(line);
  });
}

async function ls(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'zoo ls');
  const dataDir = p.flags['--data-dir'];
  // The key of a local server is read from ITS data folder (admin.key), as other client verbs do.
  const env = dataDir === undefined ? io.env : { ...io.env, MAAS_DATA_DIR: dataDir };
  const listing = await (await client(p.flags, { ...io, env })).zoo().catch((e: unknown) => {
    if (e instanceof MaasApiError && e.status === 0) return null;
    throw e;
  });
  if (listing) {
    io.out(`(from the server; MAAS_ZOO=${listing.mode})`);
    for (const line of zooTable(listing.models)) io.out(line);
    return;
  }
  await withPlatform(p, io, async (platform) => {
    io.out('(no server answers: read from the data folder)');
    for (const line of zooTable(await zooStatus(platform))) io.out(line);
  });
}

export async function zooCommand(p: Parsed, io: CliIO): Promise<void> {
  const sub = p.positional[1];
  if (sub === 'train') await train(p, io);
  else if (sub === 'ls') await ls(p, io);
  else throw new UsageError(`unknown command: zoo ${sub ?? ''}`);
}
