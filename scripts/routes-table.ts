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
import { block, blockIn, withBlock } from './doc-markers';

export const API_DOC = fileURLToPath(new URL('../docs/api.md', import.meta.url));
export const ROUTES_BLOCK = block('routes', 'npm run docs:routes');

const scope = (access: RouteSpec['access']) =>
  access === 'public' ? 'none' : access === 'metrics' ? 'admin (none with MAAS_METRICS_PUBLIC)' : access;

/** The Markdown table: one line per route, in the route table's order. */
export function renderRouteTable(routes: readonly RouteSpec[] = routeTable): string {
  const rows = routes.map(
    (r) => `| ${r.method} | \`${r.path}\` | ${scope(r.access)} | ${r.summary.replaceAll('|', '\\|')} |`,
  );
  return ['| method | path | key scope | summary |', '|---|---|---|---|', ...rows].join('\n');
}

/** The route table in `doc`, between its markers. */
export const tableInDoc = (doc: string): string => blockIn(doc, ROUTES_BLOCK);

/** `doc` with the text between its route-table markers replaced by `table`. */
export const withTable = (doc: string, table: string): string => withBlock(doc, ROUTES_BLOCK, table);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--write')) {
    writeFileSync(API_DOC, withTable(readFileSync(API_DOC, 'utf8'), renderRouteTable()));
    console.log(`wrote ${routeTable.length} routes into docs/api.md`);
  } else {
    console.log(renderRouteTable());
  }
}
