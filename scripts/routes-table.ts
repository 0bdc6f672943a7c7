/**
 * The route table of docs/api.md, generated from the route table itself (`src/api/routes.ts`) so
 * the docs cannot drift: `test/docs/routes-table.test.ts` fails when they differ.
 *
 *   npm run docs:routes                          rewrite the table in docs/api.md
 *   node --import tsx scripts/routes-table.ts    print it
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RouteSpec } from '../src/api/route';
import { routeTable } from '../src/api/routes';

export const API_DOC = fileURLToPath(new URL('../docs/api.md', import.meta.url));
export const TABLE_BEGIN =
  '<!-- routes:begin (generated from src/api/routes.ts by `npm run docs:routes`; do not edit) -->';
export const TABLE_END = '<!-- routes:end -->';

const scope = (access: RouteSpec['access']) =>
  access === 'public' ? 'none' : access === 'metrics' ? 'manage (none with MAAS_METRICS_PUBLIC)' : access;

/** The Markdown table: one line per route, in the route table's order. */
export function renderRouteTable(routes: readonly RouteSpec[] = routeTable): string {
  const rows = routes.map(
    (r) => `| ${r.method} | \`${r.path}\` | ${scope(r.access)} | ${r.summary.replaceAll('|', '\\|')} |`,
  );
  return ['| method | path | key scope | summary |', '|---|---|---|---|', ...rows].join('\n');
}

/** The text between the markers of `doc` (trimmed), or an error naming the missing marker. */
export function tableInDoc(doc: string): string {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin)
    throw new Error(`docs/api.md lacks the markers ${TABLE_BEGIN} … ${TABLE_END}`);
  return doc.slice(begin + TABLE_BEGIN.length, end).trim();
}

/** `doc` with the text between its markers replaced by `table`. */
export function withTable(doc: string, table: string): string {
  tableInDoc(doc); // throws when the markers are missing
  const begin = doc.indexOf(TABLE_BEGIN) + TABLE_BEGIN.length;
  return `${doc.slice(0, begin)}\n${table}\n${doc.slice(doc.indexOf(TABLE_END))}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--write')) {
    writeFileSync(API_DOC, withTable(readFileSync(API_DOC, 'utf8'), renderRouteTable()));
    console.log(`wrote ${routeTable.length} routes into docs/api.md`);
  } else {
    console.log(renderRouteTable());
  }
}
