/** What every CLI command shares: IO, argument parsing, the API client from flags/env. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaasClient } from '../sdk/client';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
  stdin: () => Promise<string>;
  /** Rewrites the current terminal line (set only when stdout is a TTY). */
  progress?: (s: string) => void;
}

export interface Parsed {
  positional: string[];
  flags: Record<string, string>;
}

/** Flags that take no value. */
const SWITCHES = new Set(['--follow', '--quick']);

/** `--name value` and `--name=value`; every flag but the switches takes a value. */
export function parseArgs(argv: readonly string[]): Parsed {
  const out: Parsed = { positional: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    if (SWITCHES.has(a)) {
      out.flags[a] = 'true';
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) out.flags[a.slice(0, eq)] = a.slice(eq + 1);
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      out.flags[a] = v;
      i++;
    }
  }
  return out;
}

export class UsageError extends Error {}

export async function client(flags: Record<string, string>, io: CliIO): Promise<MaasClient> {
  const url = flags['--url'] ?? io.env.MAAS_URL ?? 'http://127.0.0.1:8080';
  let key: string | undefined = flags['--key'] ?? io.env.MAAS_KEY;
  if (!key) {
    const file = join(io.env.MAAS_DATA_DIR ?? './data', 'admin.key');
    key = await readFile(file, 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    );
  }
  return new MaasClient({ url, key });
}

export function only(flags: Record<string, string>, allowed: string[]): void {
  for (const f of Object.keys(flags)) if (!allowed.includes(f)) throw new UsageError(`unknown option ${f}`);
}

export const clientFlags = ['--url', '--key'];
