/** Sign in with an API key: checked against the server before anything else is shown. */
import { type FormEvent, useState } from 'react';
import { explainError } from '../errors';

export function SignIn({
  onSignIn,
  notice,
}: {
  onSignIn: (key: string) => Promise<void>;
  notice: string | null;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSignIn(key.trim());
    } catch (err) {
      setError(explainError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="signin card" onSubmit={submit}>
      <h1>maas console</h1>
      <p>
        Sign in with an API key. The admin key is printed at the first start and kept in{' '}
        <code>data/admin.key</code>; <code>maas keys create NAME --scopes infer</code> makes more.
      </p>
      <label>
        API key
        <input
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
          name="key"
        />
      </label>
      <button type="submit" disabled={busy || key.trim() === ''}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p className="muted small">
        The key stays in this tab only (session storage) and is never put in a URL.
      </p>
    </form>
  );
}
