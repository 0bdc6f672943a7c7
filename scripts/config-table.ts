/**
 * The option table of docs/configuration.md, generated from `configSpec` (src/platform/config.ts)
 * so the docs cannot drift: `test/docs/config-table.test.ts` fails when they differ.
 *
 *   npm run docs:config                          rewrite the table in docs/configuration.md
 *   node --import tsx scripts/config-table.ts    print it
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { configSpec } from '../src/platform/config';
import { block, withBlock } from './doc-markers';

export const CONFIG_DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
export const CONFIG_BLOCK = block('options', 'npm run docs:config');

const MiB = 1024 * 1024;

/** `536870912 (512 MiB)` for byte sizes, `(generated)` for a secret made at first start. */
function defaultText(env: string, value: unknown): string {
  if (value === null) return '(generated)';
  if (typeof value === 'number' && env.endsWith('_BYTES') && value >= MiB)
    return `${value} (${value / MiB} MiB)`;
  return String(value);
}

export function renderConfigTable(): string {
  const rows = Object.values(configSpec).map(
    (s) =>
      `| \`${s.env}\` | \`${s.flag}\` | \`${defaultText(s.env, s.default)}\` | ${s.doc.replaceAll('|', '\\|')} |`,
  );
  return ['| env | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--write')) {
    writeFileSync(CONFIG_DOC, withBlock(readFileSync(CONFIG_DOC, 'utf8'), CONFIG_BLOCK, renderConfigTable()));
    console.log(`wrote ${Object.keys(configSpec).length} options into docs/configuration.md`);
  } else {
    console.log(renderConfigTable());
  }
}
