/**
 * Prints the README's route table from the route table itself, so the docs cannot drift:
 * `node --import tsx scripts/routes-table.ts`.
 */
import { routeTable } from '../src/api/routes';

const scope = (access: string) =>
  access === 'public' ? 'none' : access === 'metrics' ? 'admin (none with MAAS_METRICS_PUBLIC)' : access;

console.log('| method | path | key scope | summary |');
console.log('|---|---|---|---|');
for (const r of routeTable) {
  console.log(`| ${r.method} | \`${r.path}\` | ${scope(r.access)} | ${r.summary.replaceAll('|', '\\|')} |`);
}
