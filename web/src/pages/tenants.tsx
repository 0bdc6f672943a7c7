/** Tenants (an admin key): the list with each tenant's limits, and a form to create one. */
import { type FormEvent, useState } from 'react';
import type { Limits } from '../../../src/sdk/client';
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
