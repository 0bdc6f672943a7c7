import type { UsageStore } from '../tenancy/ports';
import type { UsageDimension, UsageQuery, UsageRecord, UsageRow } from '../tenancy/types';
import { dayOf } from '../tenancy/types';

const FIELD: Record<UsageDimension, (r: UsageRecord) => string> = {
  day: (r) => dayOf(r.at),
  model: (r) => r.model,
  key: (r) => r.keyId,
  tenant: (r) => r.tenantId,
};
const ROW_FIELD = { day: 'day', model: 'model', key: 'keyId', tenant: 'tenantId' } as const;

export class MemoryUsageStore implements UsageStore {
  private readonly rows: UsageRecord[] = [];

  async append(records: readonly UsageRecord[]): Promise<void> {
    for (const r of records) this.rows.push(structuredClone(r));
  }

  async aggregate(query: UsageQuery): Promise<UsageRow[]> {
    const groups = new Map<string, { values: string[]; row: UsageRow }>();
    for (const r of this.rows) {
      if (query.tenantId !== undefined && r.tenantId !== query.tenantId) continue;
      if (query.from !== undefined && r.at < query.from) continue;
      if (query.to !== undefined && r.at >= query.to) continue;
      const values = query.groupBy.map((d) => FIELD[d](r));
      const id = JSON.stringify(values);
      let row = groups.get(id)?.row;
      if (!row) {
        row = { requests: 0, units: 0, errors: 0, latencyMsTotal: 0 };
        query.groupBy.forEach((d, i) => {
          row![ROW_FIELD[d]] = values[i];
        });
        groups.set(id, { values, row });
      }
      row.requests += 1;
      row.units += r.units;
      row.errors += r.status >= 500 ? 1 : 0;
      row.latencyMsTotal += r.latencyMs;
    }
    return [...groups.values()].sort((a, b) => compareValues(a.values, b.values)).map((g) => g.row);
  }

  dump(): UsageRecord[] {
    return this.rows.map((r) => structuredClone(r));
  }
}

/** Column by column, as SQL's ORDER BY over the grouped columns. */
function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}
