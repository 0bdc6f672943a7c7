/** What every CLI command shares: IO, argument parsing, the API client from flags/env. */
import { openAsBlob } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MaasClient } from '../sdk/client';
import { SWITCHES } from './flags';
import { httpFetch } from './http-fetch';

export { only, UsageError } from './flags';

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

/**
 * `--name value`, `--name=value`, and `--name` alone (last, or before another flag), which means
 * `true`: `--metrics-public` is `--metrics-public true`. The switches (`--follow`) never take the
 * next word, so `maas train --follow NAME` keeps NAME positional.
 */
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
      if (v === undefined || v.startsWith('--')) out.flags[a] = 'true';
      else {
        out.flags[a] = v;
        i++;
      }
    }
  }
  return out;
}

/** Where the API is and which key to use: flags, then env, then the data folder's admin key. */
export async function connection(
  flags: Record<string, string>,
  env: Record<string, string | undefined>,
): Promise<{ url: string; key: string | undefined; fetch: typeof fetch }> {
  const url = flags['--url'] ?? env.MAAS_URL ?? 'http://127.0.0.1:8080';
  const key =
    flags['--key'] ??
    env.MAAS_KEY ??
    (await readFile(join(env.MAAS_DATA_DIR ?? './data', 'admin.key'), 'utf8').then(
      (s) => s.trim(),
      () => undefined,
    ));
  return { url, key, fetch: httpFetch };
}

export async function client(flags: Record<string, string>, io: CliIO): Promise<MaasClient> {
  return new MaasClient(await connection(flags, io.env));
}

/** A file to upload, as a Blob; a missing or unreadable file is an error that names it. */
export async function fileBlob(file: string): Promise<Blob> {
  // openAsBlob's own error ("Unable to open file as blob") names neither the file nor the cause.
  const why = await stat(file).then(
    (s) => (s.isFile() ? null : 'not a file'),
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? 'no such file' : e.message),
  );
  // A plain error, not a usage one: the command was right, the file is not (no "maas --help" hint).
  if (why) throw new Error(`cannot read ${file}: ${why}`);
  return openAsBlob(file);
}
