/**
 * The terminal of `maas serve`: readable log lines on a terminal (JSON when piped, or asked
 * for), and the one-time admin key in a frame.
 */
import { describe, expect, it } from 'vitest';
import { adminKeyBanner, prettyLine, resolveLogFormat } from '../../src/api/console';
import { spawnServe } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

describe('console output', () => {
  it('a pino JSON line becomes time, level, message and key=value fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 1, 12, 4, 31),
      pid: 1,
      hostname: 'h',
      msg: 'zoo: gpt failed',
      attempt: 2,
      config: { host: '127.0.0.1', limits: { rpm: 5 } },
      note: 'two words',
    });
    expect(prettyLine(line, false)).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}zoo: gpt failed {2}attempt=2 host=127.0.0.1 limits\.rpm=5 note="two words"$/,
    );
    expect(prettyLine(line, true)).toContain('\x1b[33mWARN \x1b[0m');
    const err = JSON.stringify({
      level: 50,
      time: 0,
      msg: 'unhandled error',
      err: { stack: 'Error: x\n    at f' },
    });
    expect(prettyLine(err, false).split('\n')).toEqual([
      expect.stringMatching(/ERROR unhandled error$/),
      '    Error: x',
      '        at f',
    ]);
    expect(prettyLine('not json', false)).toBe('not json');
  });

  it('auto is pretty on a terminal and JSON otherwise; an explicit format wins', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('the admin key banner is a closed frame with the key alone on its line', () => {
    const lines = adminKeyBanner('maas_abc', 'data/admin.key');
    expect(lines[0]).toMatch(/^┌─ admin key \(shown once\) ─+┐$/);
    expect(lines.at(-1)).toMatch(/^└─+┘$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[1]).toMatch(/^│ maas_abc +│$/);
    expect(lines.join('\n')).toContain('data/admin.key');
  });

  it('maas serve: JSON lines when piped; readable lines and the framed key with MAAS_LOG_FORMAT=pretty', async () => {
    for (const format of ['auto', 'pretty'] as const) {
      const data = await tempDir();
      const server = await spawnServe({
        dataDir: data.dir,
        adminKey: '',
        logLevel: 'info',
        env: { MAAS_LOG_FORMAT: format },
      });
      await server.stop();
      const out = server.output();
      await data.remove();
      if (format === 'auto') {
        // Piped (not a terminal): pino's JSON lines, as a log collector expects.
        expect(out).toMatch(/^\{"level":30,.*"msg":"configuration"\}$/m);
      } else {
        expect(out).toMatch(/^\d\d:\d\d:\d\d INFO {2}configuration {2}host=127\.0\.0\.1 port=0 /m);
        expect(out).not.toMatch(/^\{"level"/m);
      }
      expect(out).toMatch(/┌─ admin key \(shown once\) ─+┐\n│ maas_\S+ +│/);
    }
  });
});
