/**
 * Usage by day (a line chart), by model and by key (bar charts of requests and units, with the exact
 * figures in a table below each); the audit log filtered by action, tenant and days.
 */
import { useMemo, useState } from 'react';
import type { UsageRow } from '../../../src/sdk/client';
import type { AuditQuery } from '../../../src/sdk/console';
import { BarChart, type BarSeries } from '../bar-chart';
import { LineChart } from '../chart';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { allows } from '../session';
import { ErrorNote, Loading } from '../ui';

/** Rows by day → chart columns: day index (epoch days), requests, errors. */
export function dayColumns(rows: UsageRow[]): number[][] {
  const sorted = [...rows].filter((r) => r.day).sort((a, b) => String(a.day).localeCompare(String(b.day)));
  return [
    sorted.map((r) => Date.parse(String(r.day)) / 1000),
    sorted.map((r) => r.requests),
    sorted.map((r) => r.errors),
  ];
}

/** Rows by model or key → bar chart labels and columns (requests, units), the busiest first. */
export function barColumns(
  rows: UsageRow[],
  label: (r: UsageRow) => string,
): { labels: string[]; data: number[][] } {
  const sorted = [...rows].sort((a, b) => b.requests - a.requests || b.units - a.units);
  return {
    labels: sorted.map(label),
    data: [sorted.map((r) => r.requests), sorted.map((r) => r.units)],
  };
}

const BAR_SERIES: BarSeries[] = [
  { label: 'requests', colour: '#2f5bd3', scale: 'requests' },
  { label: 'units', colour: '#e08a1e', scale: 'units' },
];

const modelOf = (r: UsageRow) => r.model ?? '—';
const keyOf = (r: UsageRow) => r.keyId ?? '—';

export function Usage() {
  const { client } = useSession().session;
  const byDay = useLoad(() => client.tenancy.usage({ groupBy: ['day'] }), [client]);
  const byModel = useLoad(() => client.tenancy.usage({ groupBy: ['model'] }), [client]);
  const byKey = useLoad(() => client.tenancy.usage({ groupBy: ['key'] }), [client]);
  const days = useMemo(() => dayColumns(byDay.data ?? []), [byDay.data]);
  return (
    <section>
      <h1>Usage</h1>
      <ErrorNote error={byDay.error ?? byModel.error ?? byKey.error} />
      {byDay.data ? (
        <div className="card">
          <LineChart
            title="Requests per day"
            x="day"
            time
            series={[
              { label: 'requests', colour: '#2f5bd3' },
              { label: 'errors', colour: '#b3261e' },
            ]}
            data={days}
          />
        </div>
      ) : (
        <Loading what="usage" />
      )}
      <div className="grid2">
        <UsageBreakdown title="By model" x="model" rows={byModel.data} label={modelOf} />
        <UsageBreakdown title="By key" x="key" rows={byKey.data} label={keyOf} />
      </div>
      <Audit />
    </section>
  );
}

/** Requests and units per model (or key) as bars, and the exact figures in a table below. */
export function UsageBreakdown({
  title,
  x,
  rows,
  label,
}: {
  title: string;
  x: string;
  rows?: UsageRow[];
  label: (r: UsageRow) => string;
}) {
  const columns = useMemo(() => barColumns(rows ?? [], label), [rows, label]);
  return (
    <div className="card">
      <h2>{title}</h2>
      {rows ? (
        <BarChart
          title={`Requests and units by ${x}`}
          x={x}
          labels={columns.labels}
          series={BAR_SERIES}
          data={columns.data}
        />
      ) : (
        <Loading what={`usage by ${x}`} />
      )}
      <UsageTable x={x} rows={rows} label={label} />
    </div>
  );
}

function UsageTable({ x, rows, label }: { x: string; rows?: UsageRow[]; label: (r: UsageRow) => string }) {
  return (
    <table className="list">
      <thead>
        <tr>
          <th>{x[0].toUpperCase() + x.slice(1)}</th>
          <th>Requests</th>
          <th>Units</th>
          <th>Errors</th>
          <th>Mean latency</th>
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((r) => (
          <tr key={label(r)}>
            <td className="mono small">{label(r)}</td>
            <td>{r.requests}</td>
            <td>{r.units}</td>
            <td>{r.errors}</td>
            <td>{r.requests ? `${Math.round(r.latencyMsTotal / r.requests)} ms` : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface AuditForm {
  action: string;
  tenant: string;
  /** Dates as a date input gives them (`2026-12-02`, a UTC day), or ''. */
  from: string;
  to: string;
}

const NO_FILTER: AuditForm = { action: '', tenant: '', from: '', to: '' };

/** The form's filters as the API takes them: empty fields left out, `to` through the end of its day. */
export function auditQuery(form: AuditForm): AuditQuery {
  const nextDay = (day: string) => new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
  return {
    ...(form.action.trim() ? { action: form.action.trim() } : {}),
    ...(form.tenant.trim() ? { tenant: form.tenant.trim() } : {}),
    ...(form.from ? { from: form.from } : {}),
    ...(form.to ? { to: nextDay(form.to) } : {}),
    limit: 100,
  };
}

function Audit() {
  const { client, me } = useSession().session;
  const [form, setForm] = useState<AuditForm>(NO_FILTER);
  const [applied, setApplied] = useState<AuditForm>(NO_FILTER);
  const log = useLoad(() => client.audit(auditQuery(applied)), [client, applied]);
  const field = (k: keyof AuditForm) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }),
  });
  return (
    <div className="card">
      <h2>Audit log</h2>
      <form
        className="row"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(form);
        }}
      >
        <label>
          Action <input {...field('action')} placeholder="key.create" />
        </label>
        {allows(me, 'admin') && (
          <label>
            Tenant <input {...field('tenant')} placeholder="every tenant" />
          </label>
        )}
        <label>
          From (UTC day) <input type="date" {...field('from')} />
        </label>
        <label>
          To (UTC day) <input type="date" {...field('to')} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={log.error} />
      <table className="list" data-testid="audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
            <th>By key</th>
          </tr>
        </thead>
        <tbody>
          {(log.data ?? []).map((e) => (
            <tr key={e.id}>
              <td>{new Date(e.at).toLocaleString()}</td>
              <td>{e.action}</td>
              <td className="mono small">{e.target}</td>
              <td>
                {e.outcome}
                {e.detail ? ` (${e.detail})` : ''}
              </td>
              <td className="mono small">{e.actorKeyId}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
