/**
 * `maas tenants create|ls`, `maas keys create|ls|revoke`, `maas usage`: tables on stdout.
 *
 *   maas tenants create acme --requests-per-minute 600 --monthly-units 1000000
 *   maas keys create ci --tenant acme --scopes manage,infer [--requests-per-minute 100]
 *   maas usage --from 2026-03-01 --by day,model,key
 */
import type { Limits } from '../sdk/client';
import { type CliIO, client, only, type Parsed, UsageError } from './shared';

const limitFlags = ['--requests-per-minute', '--units-per-minute', '--monthly-units'];

function limitsOf(flags: Record<string, string>): Limits {
  const out: Limits = {};
  const fields = ['requestsPerMinute', 'unitsPerMinute', 'monthlyUnits'] as const;
  limitFlags.forEach((f, i) => {
    if (flags[f] === undefined) return;
    const n = Number(flags[f]);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${f} must be a positive integer`);
    out[fields[i]] = n;
  });
  return out;
}

const showLimits = (l: Limits): string =>
  [
    l.requestsPerMinute !== undefined ? `${l.requestsPerMinute} req/min` : '',
    l.unitsPerMinute !== undefined ? `${l.unitsPerMinute} units/min` : '',
    l.monthlyUnits !== undefined ? `${l.monthlyUnits} units/month` : '',
    l.weight !== undefined ? `weight ${l.weight}` : '',
    l.concurrency !== undefined ? `concurrency ${l.concurrency}` : '',
  ]
    .filter((x) => x !== '')
    .join(', ') || '-';

/** Left-aligned columns, two spaces apart, with a header row. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function tenants(p: Parsed, io: CliIO): Promise<void> {
  const [, sub, name] = p.positional;
  const api = (await client(p.flags, io)).tenancy;
  if (sub === 'create') {
    only(p.flags, 'tenants create');
    if (!name) throw new UsageError('maas tenants create NAME');
    const t = await api.createTenant(name, limitsOf(p.flags));
    io.out(`created tenant ${t.id} (limits: ${showLimits(t.limits)})`);
  } else if (sub === 'ls') {
    only(p.flags, 'tenants ls');
    const list = await api.listTenants();
    io.out(
      table(
        ['TENANT', 'LIMITS', 'CREATED'],
        list.map((t) => [t.id, showLimits(t.limits), day(t.createdAt)]),
      ),
    );
  } else throw new UsageError(`unknown command: tenants ${sub ?? ''}`);
}

async function keys(p: Parsed, io: CliIO): Promise<void> {
  const [, sub, arg] = p.positional;
  const api = (await client(p.flags, io)).tenancy;
  if (sub === 'create') {
    only(p.flags, 'keys create');
    if (!arg || !p.flags['--scopes']) throw new UsageError('maas keys create NAME --scopes infer');
    const k = await api.createKey({
      name: arg,
      scopes: p.flags['--scopes'].split(','),
      limits: limitsOf(p.flags),
      ...(p.flags['--tenant'] ? { tenant: p.flags['--tenant'] } : {}),
    });
    io.out(
      `created key ${k.id} for tenant ${k.tenantId} (scopes: ${k.scopes.join(', ')}; limits: ${showLimits(k.limits)})`,
    );
    io.out(`key: ${k.key}`);
    io.out('store it now: it is shown only once');
  } else if (sub === 'ls') {
    only(p.flags, 'keys ls');
    const list = await api.listKeys(p.flags['--tenant']);
    const rows = list.map((k) => [
      k.id,
      k.tenantId,
      k.name,
      `maas_${k.prefix}_…`,
      k.scopes.join(','),
      showLimits(k.limits),
      k.revokedAt === null ? 'active' : `revoked ${day(k.revokedAt)}`,
    ]);
    io.out(table(['ID', 'TENANT', 'NAME', 'PREFIX', 'SCOPES', 'LIMITS', 'STATE'], rows));
  } else if (sub === 'revoke') {
    only(p.flags, 'keys revoke');
    if (!arg) throw new UsageError('maas keys revoke KEY_ID');
    const k = await api.revokeKey(arg);
    io.out(`revoked ${k.id} (${k.name}, tenant ${k.tenantId})`);
  } else throw new UsageError(`unknown command: keys ${sub ?? ''}`);
}

async function usage(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'usage');
  const groupBy = (p.flags['--by'] ?? 'day,model,key').split(',');
  const rows = await (await client(p.flags, io)).tenancy.usage({
    from: p.flags['--from'],
    to: p.flags['--to'],
    groupBy,
    tenant: p.flags['--tenant'],
  });
  const cols: Array<[string, (r: (typeof rows)[number]) => string]> = [
    ['DAY', (r) => r.day ?? ''],
    ['TENANT', (r) => r.tenantId ?? ''],
    ['MODEL', (r) => r.model ?? ''],
    ['KEY', (r) => r.keyId ?? ''],
  ];
  const dims = cols.filter(([h]) =>
    groupBy.includes(h === 'DAY' ? 'day' : h === 'TENANT' ? 'tenant' : h === 'MODEL' ? 'model' : 'key'),
  );
  const header = [...dims.map(([h]) => h), 'REQUESTS', 'UNITS', 'ERRORS', 'AVG MS'];
  const body = rows.map((r) => [
    ...dims.map(([, f]) => f(r)),
    String(r.requests),
    String(r.units),
    String(r.errors),
    (r.latencyMsTotal / Math.max(1, r.requests)).toFixed(1),
  ]);
  io.out(rows.length === 0 ? 'no usage' : table(header, body));
}

export const tenancyCommands: Record<string, (p: Parsed, io: CliIO) => Promise<void>> = {
  tenants,
  keys,
  usage,
};
