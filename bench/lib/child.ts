/** Runs one TypeScript contender module in this (fresh) process:
 *   node --import tsx bench/lib/child.ts <module path> '<shape args as JSON>'
 * and prints the one JSON line of the contract. Diagnostics go to stderr. */

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ContenderModule, ShapeArgs } from './contender';

async function main(): Promise<void> {
  const [modulePath, argsJson] = process.argv.slice(2);
  if (!modulePath) throw new Error('usage: child.ts <module> [json args]');
  const args = JSON.parse(argsJson ?? '{}') as ShapeArgs;
  const mod = (await import(pathToFileURL(path.resolve(modulePath)).href)) as Partial<ContenderModule>;
  if (typeof mod.run !== 'function') throw new Error(`${modulePath} does not export run(args)`);
  const output = await mod.run(args);
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
