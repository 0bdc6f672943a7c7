/**
 * The signed-in key: kept in sessionStorage (this tab only, gone when it closes), never in a URL.
 * One SDK client per key; every page talks to the API through it.
 */
import { ConsoleClient, type Me } from '../../src/sdk/console';

const STORAGE_KEY = 'maas.key';

export interface Session {
  key: string;
  me: Me;
  client: ConsoleClient;
}

export const clientFor = (key: string): ConsoleClient =>
  new ConsoleClient({ url: window.location.origin, key });

export const storedKey = (): string | null => window.sessionStorage.getItem(STORAGE_KEY);

export function remember(key: string): void {
  window.sessionStorage.setItem(STORAGE_KEY, key);
}

export function forget(): void {
  window.sessionStorage.removeItem(STORAGE_KEY);
}

/** The scope ladder: admin ⊃ manage ⊃ infer. */
const RANK: Record<string, number> = { infer: 1, manage: 2, admin: 3 };

export function allows(me: Me, scope: 'infer' | 'manage' | 'admin'): boolean {
  return Math.max(0, ...me.scopes.map((s) => RANK[s] ?? 0)) >= RANK[scope];
}
