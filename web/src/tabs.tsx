/**
 * A tab strip as the ARIA tabs pattern has it: role tablist/tab, the chosen tab selected and the only
 * one in the Tab order (roving tabindex), Left/Right (wrapping), Home and End move to and open a tab.
 * Tabs are links, so a tab is also a page one can bookmark; the panel is the caller's (`TabPanel`).
 */
import { type KeyboardEvent, type ReactNode, useRef } from 'react';

export interface Tab {
  id: string;
  label: string;
  href: string;
}

/** The tab a key moves to from `at` of `count`, or undefined for a key the strip leaves alone. */
export function tabAfterKey(key: string, at: number, count: number): number | undefined {
  if (key === 'ArrowRight') return (at + 1) % count;
  if (key === 'ArrowLeft') return (at - 1 + count) % count;
  if (key === 'Home') return 0;
  if (key === 'End') return count - 1;
  return undefined;
}

const tabId = (strip: string, tab: string) => `${strip}-tab-${tab}`;
const panelId = (strip: string) => `${strip}-panel`;

export function TabStrip({
  id,
  label,
  tabs,
  current,
  onPick,
}: {
  /** Prefix of the tabs' and panel's element ids. */
  id: string;
  label: string;
  tabs: Tab[];
  current: string;
  onPick: (tab: string) => void;
}) {
  const links = useRef<(HTMLAnchorElement | null)[]>([]);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    // Alt+Left is the browser's Back, Ctrl/Meta+arrows the system's: not ours.
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    // From the focused tab: `current` follows the hash a moment later, and a fast repeat would be lost.
    const focused = links.current.findIndex((el) => el !== null && el === document.activeElement);
    const at = focused >= 0 ? focused : tabs.findIndex((t) => t.id === current);
    const next = tabAfterKey(e.key, Math.max(0, at), tabs.length);
    if (next === undefined) return;
    e.preventDefault();
    links.current[next]?.focus();
    onPick(tabs[next].id);
  };
  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {tabs.map((t, i) => (
        <a
          key={t.id}
          ref={(el) => {
            links.current[i] = el;
          }}
          id={tabId(id, t.id)}
          role="tab"
          href={t.href}
          aria-selected={t.id === current}
          aria-controls={panelId(id)}
          tabIndex={t.id === current ? 0 : -1}
        >
          {t.label}
        </a>
      ))}
    </div>
  );
}

/**
 * The panel of a `TabStrip`, named by its current tab. Not itself in the Tab order: Tab from the strip
 * goes on to the first control inside it.
 */
export function TabPanel({ id, current, children }: { id: string; current: string; children: ReactNode }) {
  return (
    <div className="card" role="tabpanel" id={panelId(id)} aria-labelledby={tabId(id, current)}>
      {children}
    </div>
  );
}
