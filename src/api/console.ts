/**
 * What a person sees in the terminal of `maas serve`: log lines they can read, and the one-time
 * admin key in a frame that stands out from them.
 *
 *   12:04:31 INFO  configuration host=127.0.0.1 port=8080 dataDir=./data zoo=auto …
 *   12:04:33 WARN  zoo: gpt failed, retrying  attempt=2
 *
 * On a terminal the log is these lines (`MAAS_LOG_FORMAT=auto`, the default); piped to a file or
 * a collector it stays one JSON object per line, as pino writes it (`MAAS_LOG_FORMAT=json`).
 */
import type { LogFormat } from '../platform/config';

/** pino's numeric levels → the word shown. */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** ANSI colours per level (terminal only). */
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '36', 40: '33', 50: '31', 60: '31' };
/** Fields every pino line has, shown as the time and level (or not at all). */
const HEADER = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'reqId']);

/** `{host: 'x', limits: {a: 1}}` → `host=x limits.a=1`; strings with spaces are quoted. */
function fields(value: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!prefix && HEADER.has(k)) continue;
    const key = `${prefix.trim()}${k}`;
    // A top-level object (`{config: {...}}` after the message "configuration") needs no prefix.
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && k !== 'err')
      out.push(...fields(v as Record<string, unknown>, prefix ? `${key}.` : ' '));
    else if (k === 'err') continue;
    else {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      out.push(`${key}=${/[\s"]/.test(text) ? JSON.stringify(text) : text}`);
    }
  }
  return out;
}

/** One pino JSON line → one readable line (plus an error's stack, indented); other text as is. */
export function prettyLine(line: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    return line.trimEnd();
  }
  const level = Number(entry.level);
  const time = new Date(Number(entry.time) || Date.now()).toTimeString().slice(0, 8);
  const word = (LEVELS[level] ?? String(level)).padEnd(5);
  const tag = colour ? `\x1b[${COLOURS[level] ?? '0'}m${word}\x1b[0m` : word;
  const rest = fields(entry).join(' ');
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const trace = err ? `\n    ${(err.stack ?? err.message ?? '').split('\n').join('\n    ')}` : '';
  return `${time} ${tag} ${entry.msg ?? ''}${rest ? `  ${rest}` : ''}${trace}`;
}

/** The stream pino writes to: JSON lines in, readable lines out. */
export function prettyStream(out: NodeJS.WritableStream, colour: boolean): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n'))
        if (line.trim() !== '') out.write(`${prettyLine(line, colour)}\n`);
    },
  };
}

/** `auto` → pretty on a terminal, JSON otherwise. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'pretty' | 'json' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

/**
 * The generated admin key, framed so it cannot be lost between log lines:
 *
 *   ┌─ admin key (shown once) ───────────────────────────────┐
 *   │ maas_qMd0C7cPJ_6fFfgxy0NvCPOUi80zGGkSQBsLfpvZY80       │
 *   │ saved with mode 0600 in ./data/admin.key                │
 *   │ use it: export MAAS_KEY=<the key above>  (or --key)     │
 *   └─────────────────────────────────────────────────────────┘
 */
export function adminKeyBanner(key: string, keyFile: string): string[] {
  const body = [
    key,
    `saved with mode 0600 in ${keyFile}`,
    'use it: export MAAS_KEY=<the key above>, or pass --key;',
    'maas reads the file by itself when run next to the data folder',
  ];
  const width = Math.max(...body.map((l) => l.length), 30) + 2;
  const title = '─ admin key (shown once) ';
  return [
    `┌${title}${'─'.repeat(width - title.length)}┐`,
    ...body.map((l) => `│ ${l.padEnd(width - 1)}│`),
    `└${'─'.repeat(width)}┘`,
  ];
}
