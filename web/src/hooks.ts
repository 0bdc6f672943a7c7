/** Loading data for a page: value, error and a reload, with stale answers ignored. */
import { useCallback, useEffect, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  // Other deps (another model's page): the last answer was about something else, so it goes at
  // once rather than showing under the new name until the new answer comes. A reload keeps it.
  const [loadedFor, setLoadedFor] = useState(deps);
  if (!sameDeps(loadedFor, deps)) {
    setLoadedFor(deps);
    setData(undefined);
    setError(undefined);
    setLoading(true);
  }
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

const sameDeps = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/** Reload every `ms` while `busy` holds (a zoo still training, say), and stop once it does not. */
export function useReloadWhile(busy: boolean, reload: () => void, ms: number): void {
  useEffect(() => {
    if (!busy) return;
    const timer = setTimeout(reload, ms);
    return () => clearTimeout(timer);
  });
}
