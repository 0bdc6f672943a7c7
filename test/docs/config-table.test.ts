/**
 * docs/configuration.md's option table is generated from `configSpec` (scripts/config-table.ts):
 * an option added, removed or reworded in code without `npm run docs:config` fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_BLOCK, CONFIG_DOC, renderConfigTable } from '../../scripts/config-table';
import { blockIn, withBlock } from '../../scripts/doc-markers';
import { configSpec } from '../../src/platform/config';

describe('docs/configuration.md option table', () => {
  it('is the table generated from src/platform/config.ts (regenerate with npm run docs:config)', () => {
    const inDoc = blockIn(readFileSync(CONFIG_DOC, 'utf8'), CONFIG_BLOCK);
    expect(inDoc).toBe(renderConfigTable());
    expect(inDoc.split('\n')).toHaveLength(Object.keys(configSpec).length + 2);
  });

  it('shows byte sizes in MiB and a generated secret as such', () => {
    const table = renderConfigTable();
    expect(table).toContain('| `MAAS_MAX_UPLOAD_BYTES` | `--max-upload-bytes` | `536870912 (512 MiB)` |');
    expect(table).toContain('| `MAAS_ADMIN_KEY` | `--admin-key` | `(generated)` |');
  });

  it('a doc without the markers is an error, and regeneration touches only the block', () => {
    expect(() => blockIn('no markers here', CONFIG_BLOCK)).toThrow(/lacks the markers/);
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    expect(withBlock(withBlock(doc, CONFIG_BLOCK, 'stale'), CONFIG_BLOCK, renderConfigTable())).toBe(doc);
  });
});
