/** Pages live in the hash (`#/models/mnist`), so the server only ever serves `/`. */
import { useEffect, useState } from 'react';

/** A malformed escape (`#/models/%E0`) stays as typed instead of blanking the page. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const read = (): string[] =>
  window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decoded);

export function useRoute(): string[] {
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const onChange = () => setParts(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parts;
}

export const href = (...parts: string[]): string => `#/${parts.map(encodeURIComponent).join('/')}`;

export function go(...parts: string[]): void {
  window.location.hash = href(...parts);
}

/** As `go`, without a history entry (moving between tabs: Back leaves the page, not each tab). */
export function goReplacing(...parts: string[]): void {
  window.location.replace(href(...parts));
}
