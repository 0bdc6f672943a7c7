/** What every CLI command shares: IO, argument parsing, the API client from flags/env. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaasClient } from '../sdk/client';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  env: Record<string, string | undefined>;
  stdin: () => Promise<string>;
  /** Standard input line by line, as it comes (interactive commands). */
  lines?: () => AsyncIterable<string>;
  /** Write without a newline (streamed tokens); falls back to `out`. */
  write?: (s: string) => void;
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

/** Where the API is and which key to use: flags, then env, then the data folder's admin key. */
export async function connection(
  flags: Record<string, string>,
  env: Record<string, string | undefined>,
): Promise<{ url: string; key: string | undefined }> {
  const url = flags['--url'] ?? env.MAAS_URL ?? 'http://127.0.0.1:8080';
  const key =
    flags['--key'] ??
    env.MAAS_KEY ??
    (await readFile(join(env.MAAS_DATA_DIR ?? './data', 'admin.key'), 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    ));
  return { url, key };
}

export async function client(flags: Record<string, string>, io: CliIO): Promise<MaasClient> {
  return new MaasClient(await connection(flags, io.env));
}

export function only(flags: Record<string, string>, allowed: string[]): void {
  for (const f of Object.keys(flags)) if (!allowed.includes(f)) throw new UsageError(`unknown option ${f}`);
}

export const clientFlags = ['--url', '--key'];
