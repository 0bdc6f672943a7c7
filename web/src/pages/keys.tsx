/**
 * Keys: create one with a scope and optional per-key limits (an admin also picks the tenant); the
 * secret is shown once, with a copy button; revoke.
 */
import { type FormEvent, useState } from 'react';
import type { Limits } from '../../../src/sdk/client';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { LimitFields } from '../limit-fields';
import { describeLimits, KEY_LIMITS, limitsFrom } from '../limits';
import { allows } from '../session';
import { CopyButton, ErrorNote, Loading } from '../ui';

const SCOPES = ['infer', 'manage', 'admin'];

export function Keys() {
  const { client, me } = useSession().session;
  const admin = allows(me, 'admin');
  const keys = useLoad(() => client.tenancy.listKeys(), [client]);
  const tenants = useLoad(async () => (admin ? client.tenancy.listTenants() : []), [client, admin]);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('infer');
  const [tenant, setTenant] = useState('');
  const [limits, setLimits] = useState<Partial<Record<keyof Limits, string>>>({});
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [error, setError] = useState<unknown>();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const k = await client.tenancy.createKey({
        name,
        scopes: [scope],
        limits: limitsFrom(limits, KEY_LIMITS),
        ...(tenant ? { tenant } : {}),
      });
      setCreated({ name: k.name, key: k.key });
      setName('');
      setLimits({});
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await client.tenancy.revokeKey(id);
      keys.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Keys</h1>
      <form className="card" onSubmit={create} aria-label="Create a key">
        <div className="row">
          <label>
            Name <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            Scope
            <select value={scope} onChange={(e) => setScope(e.target.value)}>
              {SCOPES.filter((s) => s !== 'admin' || admin).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          {admin && (
            <label>
              Tenant
              <select value={tenant} onChange={(e) => setTenant(e.target.value)}>
                <option value="">{me.tenant} (yours)</option>
                {(tenants.data ?? [])
                  .filter((t) => t.id !== me.tenant)
                  .map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.id}
                    </option>
                  ))}
              </select>
            </label>
          )}
        </div>
        <LimitFields fields={KEY_LIMITS} values={limits} onChange={setLimits} />
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div className="card notice" role="status">
          <p>
            Key <strong>{created.name}</strong> — copy it now, it is not shown again:
          </p>
          <code className="secret" data-testid="new-key">
            {created.key}
          </code>{' '}
          <CopyButton text={created.key} />
        </div>
      )}
      <ErrorNote error={error ?? keys.error} />
      {keys.loading && !keys.data && <Loading what="keys" />}
      {keys.data && (
        <table className="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Prefix</th>
              <th>Scopes</th>
              <th>Limits</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name}
                  {k.tenantId !== me.tenant && <div className="muted small">{k.tenantId}</div>}
                </td>
                <td className="mono">{k.prefix}…</td>
                <td>{k.scopes.join(', ')}</td>
                <td className="small">{describeLimits(k.limits, KEY_LIMITS)}</td>
                <td>{new Date(k.createdAt).toLocaleString()}</td>
                <td>
                  {k.revokedAt ? (
                    <span className="tag">revoked</span>
                  ) : k.id === me.key_id ? (
                    <span className="muted small">this key</span>
                  ) : (
                    <button type="button" onClick={() => revoke(k.id)} aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
