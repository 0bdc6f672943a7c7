/**
 * The walk-through session's rewrites for servers a doc starts itself (`maas serve --port N &`,
 * docs/deploy.md): which ports move, how commands and output are mapped, and how a background
 * server is waited for. The docs test runs them for real; these pin the mapping.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { backgroundPorts, movePorts, Rewrites, sessionCommand, type Workspace } from './walkthrough-session';

const ws: Workspace = { root: '/tmp/maas-walk-X', checkout: '/tmp/maas-walk-X/checkout' };
const cmd = (text: string) => ({ line: 1, text, expected: [] });

describe('backgroundPorts', () => {
  it('lists the ports of commands that end with & only, once each, in order', () => {
    const ports = backgroundPorts([
      cmd('node bin/maas.js serve --role api --port 18102 --data-dir /tmp/cl/a &'),
      cmd('node bin/maas.js serve --role api --port=18101 --data-dir /tmp/cl/b &'),
      cmd('MAAS_ZOO=quick node bin/maas.js serve --port 18101 &'),
      cmd("redis-server --port 16380 --save '' > /dev/null &"),
      cmd('maas serve --port 8080'),
      cmd('curl -s http://127.0.0.1:18101/readyz'),
    ]);
    expect(ports).toEqual([16380, 18101, 18102]);
  });
});

describe('Rewrites.addPort', () => {
  it('rewrites the whole number in commands (arithmetic included) and maps output back', () => {
    const rw = new Rewrites(ws);
    rw.addPort(18101, 30101);
    expect(rw.toRun('curl http://127.0.0.1:18101/x; echo $((18101 + 1)) 181012 1.18101')).toBe(
      'curl http://127.0.0.1:30101/x; echo $((30101 + 1)) 181012 1.18101',
    );
    expect(rw.toDoc('maas listening on http://127.0.0.1:30101 (role api)')).toBe(
      'maas listening on http://127.0.0.1:18101 (role api)',
    );
    // Output that holds the real port's digits inside a longer number is not touched.
    expect(rw.toDoc('"created":1764301013010,"sha":"ab30101f"')).toBe(
      '"created":1764301013010,"sha":"ab30101f"',
    );
  });

  it('moves a /tmp/ path in a file:// URL as it moves a plain one', () => {
    const rw = new Rewrites(ws);
    expect(rw.toRun('export MAAS_BLOB_STORE=file:///tmp/cl/blobs; ls /tmp/cl x/tmp/y')).toBe(
      'export MAAS_BLOB_STORE=file:///tmp/maas-walk-X/tmp/cl/blobs; ls /tmp/maas-walk-X/tmp/cl x/tmp/y',
    );
  });
});

describe('movePorts', () => {
  it('moves every port by one offset to ports nothing listens on', async () => {
    const rw = new Rewrites(ws);
    await movePorts([18101, 18105], rw);
    const moved = rw.toRun('18101 18105').split(' ').map(Number);
    expect(moved[1] - moved[0]).toBe(4);
    // Below the ephemeral range, where no outgoing connection takes one meanwhile.
    expect(moved[0]).toBeGreaterThanOrEqual(20_000);
    expect(moved[1]).toBeLessThan(32_000);
    for (const port of moved) {
      const probe = createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise((resolve) => probe.close(resolve));
    }
  });
});

describe('sessionCommand', () => {
  it('sends a background server to a log file and waits for its listening line', () => {
    const got = sessionCommand('maas serve --role api --port 30101 --data-dir /tmp/a &', 7, '/logs');
    expect(got).toBe(
      "maas serve --role api --port 30101 --data-dir /tmp/a > '/logs/server-7.log' 2>&1 &\nwalk_listening '/logs/server-7.log' $!",
    );
  });

  it('leaves other commands, background or not, as they are', () => {
    for (const text of ['curl -sN http://x/events > events.txt &', 'maas serve --help', 'maas zoo ls'])
      expect(sessionCommand(text, 0, '/logs')).toBe(text);
  });
});
