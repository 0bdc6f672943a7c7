/** The signed-in session for every page, and the way out of it. */
import { createContext, useContext } from 'react';
import type { Session } from './session';

export interface SessionContext {
  session: Session;
  signOut: (reason?: string) => void;
}

export const SessionCtx = createContext<SessionContext | null>(null);

export function useSession(): SessionContext {
  const s = useContext(SessionCtx);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}
