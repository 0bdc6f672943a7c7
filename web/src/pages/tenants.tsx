/**
 * Tenants (an admin key): the list with each tenant's limits, a form to create one and a form to
 * change a tenant's limits (they apply from its next request).
 */
import { type FormEvent, useState } from 'react';
import type { Limits, Tenant } from '../../../src/sdk/client';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { LimitFields } from '../limit-fields';
import { describeLimits, limitsFrom, TENANT_LIMITS } from '../limits';
import { href } from '../router';
import { ErrorNote, Loading } from '../ui';

export function Tenants() {
  const { client } = useSession().session;
  const tenants = useLoad(() => client.tenancy.listTenants(), [client]);
  const [name, setName] = useState('');
  const [limits, setLimits] = useState<Partial<Record<keyof Limits, string>>>({});
  const [error, setError] = useState<unknown>();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await client.tenancy.createTenant(name, limitsFrom(limits, TENANT_LIMITS));
      setName('');
      setLimits({});
      tenants.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Tenants</h1>
      <form className="card" onSubmit={create} aria-label="Create a tenant">
        <h2>Create a tenant</h2>
        <label>
          Tenant name{' '}
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
          />
        </label>
        <LimitFields fields={TENANT_LIMITS} values={limits} onChange={setLimits} />
        <button type="submit">Create tenant</button>
        <p className="muted small">
          Then give it a key on the <a href={href('keys')}>Keys</a> page (choose the tenant there).
        </p>
        <ErrorNote error={error} />
      </form>
      {tenants.data && tenants.data.length > 0 && (
        <EditLimits tenants={tenants.data} onSaved={tenants.reload} />
      )}
      <ErrorNote error={tenants.error} />
      {tenants.loading && !tenants.data && <Loading what="tenants" />}
      {tenants.data && (
        <table className="list" data-testid="tenants">
          <thead>
            <tr>
              <th>Tenant</th>
              <th>Limits</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {tenants.data.map((t) => (
              <tr key={t.id}>
                <td>{t.id}</td>
                <td>{describeLimits(t.limits)}</td>
                <td>{new Date(t.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The chosen tenant's limits as form text (a field left empty means no limit). */
function textOf(limits: Limits): Partial<Record<keyof Limits, string>> {
  return Object.fromEntries(TENANT_LIMITS.map((f) => [f.name, limits[f.name]?.toString() ?? '']));
}

function EditLimits({ tenants, onSaved }: { tenants: Tenant[]; onSaved: () => void }) {
  const { client } = useSession().session;
  const [id, setId] = useState(tenants[0]?.id ?? '');
  const chosen = tenants.find((t) => t.id === id);
  const [values, setValues] = useState(() => textOf(chosen?.limits ?? {}));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const choose = (next: string) => {
    setId(next);
    setValues(textOf(tenants.find((t) => t.id === next)?.limits ?? {}));
    setSaved('');
  };
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved('');
    try {
      await client.tenancy.setTenantLimits(id, limitsFrom(values, TENANT_LIMITS));
      setSaved(`Saved: ${id}'s limits apply from its next request.`);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={save} aria-label="Change a tenant's limits">
      <h2>Change a tenant's limits</h2>
      <label>
        Tenant{' '}
        <select value={id} onChange={(e) => choose(e.target.value)}>
          {tenants.map((t) => (
            <option key={t.id} value={t.id}>
              {t.id}
            </option>
          ))}
        </select>
      </label>
      <LimitFields fields={TENANT_LIMITS} values={values} onChange={setValues} />
      <button type="submit">Save limits</button>
      {saved && (
        <p className="muted small" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}
