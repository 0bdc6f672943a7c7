import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVE_NODE_FLAGS } from '../helpers/serve';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** Every documented way of starting the server, and the line of it that starts Node. */
const launchers: Record<string, string[]> = {
  "package.json's start script": [JSON.parse(read('package.json')).scripts.start],
  "bin/maas.js's shebang": [read('bin/maas.js').split('\n')[0]],
  'the systemd units': ['maas-api@.service', 'maas-worker@.service'].map(
    (unit) => read(`deploy/systemd/${unit}`).match(/^ExecStart=.*$/m)?.[0] ?? '',
  ),
  'docker compose': read('deploy/docker-compose.yml').match(/command: \[node.*\]/g) ?? [],
  'scripts/serve-ready.mjs': [
    read('scripts/serve-ready.mjs').match(/spawn\(\s*process\.execPath,\s*\[[^\]]*\]/)?.[0] ?? '',
  ],
};

describe("the server's Node flags", () => {
  it.each(Object.entries(launchers))('are passed by %s', (_where, lines) => {
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) for (const flag of SERVE_NODE_FLAGS) expect(line).toContain(flag);
  });
});
