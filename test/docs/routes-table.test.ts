/**
 * docs/api.md's route table is generated from the route table (scripts/routes-table.ts): a route
 * added, removed or reworded in code without `npm run docs:routes` fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_DOC, renderRouteTable, tableInDoc, withTable } from '../../scripts/routes-table';
import { routeTable } from '../../src/api/routes';

describe('docs/api.md route table', () => {
  it('is the table generated from src/api/routes.ts (regenerate with npm run docs:routes)', () => {
    const inDoc = tableInDoc(readFileSync(API_DOC, 'utf8'));
    expect(inDoc).toBe(renderRouteTable());
    expect(inDoc.split('\n')).toHaveLength(routeTable.length + 2);
  });

  it('detects a drifted table and regenerates it between the markers only', () => {
    const doc = readFileSync(API_DOC, 'utf8');
    const drifted = withTable(doc, renderRouteTable(routeTable.slice(1)));
    expect(tableInDoc(drifted)).not.toBe(renderRouteTable());
    const fixed = withTable(drifted, renderRouteTable());
    expect(fixed).toBe(doc);
  });

  it('escapes | in summaries so a row keeps four cells', () => {
    const [route] = routeTable;
    const table = renderRouteTable([{ ...route, summary: 'a | b' }]);
    expect(table.split('\n')[2]).toContain('a \\| b');
  });
});
