/** `maas … | head`: a reader that closes the pipe early must not make the CLI die on EPIPE. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('maas with its output piped into a reader that stops early', () => {
  it('exits 0 without an EPIPE stack trace', async () => {
    const child = spawn(process.execPath, ['bin/maas.js', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Close our end at once, as `head` does after its lines: every write of the CLI now fails.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  }, 30_000);
});
