/**
 * The shell: sign-in until a key works, then the navigation (only what the key's scopes allow)
 * and the page named by the hash.
 */
import { useEffect, useState } from 'react';
import { SessionCtx } from './context';
import { explainError } from './errors';
import { Catalog } from './pages/catalog';
import { DatasetPage, Datasets } from './pages/datasets';
import { Job } from './pages/job';
import { Keys } from './pages/keys';
import { ModelPage } from './pages/model';
import { SignIn } from './pages/signin';
import { Speech } from './pages/speech';
import { Tenants } from './pages/tenants';
import { Training } from './pages/training';
import { Upload } from './pages/upload';
import { Usage } from './pages/usage';
import { href, useRoute } from './router';
import { allows, clientFor, forget, remember, type Session, storedKey } from './session';

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);

  const signIn = async (key: string) => {
    const client = clientFor(key);
    const me = await client.me();
    remember(key);
    setNotice(null);
    setSession({ key, me, client });
  };
  const signOut = (reason?: string) => {
    forget();
    setSession(null);
    setNotice(reason ?? null);
  };

  // A key kept for this tab signs in again after a reload; one that stopped working says why.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, at start
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    signIn(key)
      .catch((e) => signOut(`Your session ended: ${explainError(e)}`))
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p className="muted center">Signing in…</p>;
  if (!session) return <SignIn onSignIn={signIn} notice={notice} />;
  return (
    <SessionCtx.Provider value={{ session, signOut }}>
      <Shell session={session} signOut={signOut} />
    </SessionCtx.Provider>
  );
}

function Shell({ session, signOut }: { session: Session; signOut: () => void }) {
  const route = useRoute();
  const manage = allows(session.me, 'manage');
  const admin = allows(session.me, 'admin');
  const links: [string, string, boolean][] = [
    ['Models', href(), true],
    ['Upload', href('upload'), manage],
    ['Datasets', href('datasets'), true],
    ['Training', href('training'), true],
    ['Keys', href('keys'), manage],
    ['Tenants', href('tenants'), admin],
    ['Usage', href('usage'), manage],
  ];
  const here = href(...route.slice(0, 1));
  return (
    <div className="shell">
      <header>
        <a className="brand" href={href()}>
          maas
        </a>
        <nav aria-label="Main">
          {links
            .filter(([, , shown]) => shown)
            .map(([label, to]) => (
              <a key={to} href={to} aria-current={to === here ? 'page' : undefined}>
                {label}
              </a>
            ))}
          <a href="/docs">API reference</a>
        </nav>
        <div className="who">
          <span title="tenant">{session.me.tenant}</span>
          {session.me.scopes.map((s) => (
            <span key={s} className="scope">
              {s}
            </span>
          ))}
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Page route={route} manage={manage} admin={admin} />
      </main>
    </div>
  );
}

function Page({ route, manage, admin }: { route: string[]; manage: boolean; admin: boolean }) {
  const [page, ...rest] = route;
  if (page === 'models' && rest[0]) return <ModelPage name={rest[0]} tab={rest[1]} />;
  if (page === 'speech' && rest[0]) return <Speech model={rest[0]} />;
  if (page === 'upload' && manage) return <Upload />;
  if (page === 'datasets' && rest[0]) return <DatasetPage name={rest[0]} />;
  if (page === 'datasets') return <Datasets />;
  if (page === 'training') return <Training dataset={rest[0] === 'dataset' ? rest[1] : undefined} />;
  if (page === 'trainings' && rest[0]) return <Job id={rest[0]} />;
  if (page === 'keys' && manage) return <Keys />;
  if (page === 'tenants' && admin) return <Tenants />;
  if (page === 'usage' && manage) return <Usage />;
  if (page && page !== 'models')
    return <p className="error">This page does not exist, or your key's scopes do not allow it.</p>;
  return <Catalog />;
}
