/**
 * Every relative link in the repository's Markdown points at a file that exists, so moving a page
 * (or a source file a page names as a link) cannot leave a dead link behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(): string[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '*.md'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  return listed.split('\0').filter((f) => f.endsWith('.md') && existsSync(join(root, f)));
}

/** `[text](target)` and `![alt](target)` targets, without their #fragment. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  return targets
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'))
    .map((t) => decodeURIComponent(t.split('#')[0]));
}

describe('Markdown links', () => {
  it('finds relative targets and skips URLs and fragments', () => {
    expect(relativeLinks('[a](docs/x.md#y) [b](https://e.org) [c](#z) ![d](images/p.png)')).toEqual([
      'docs/x.md',
      'images/p.png',
    ]);
  });

  it('every relative link resolves to a file or folder', () => {
    const dead: string[] = [];
    for (const file of markdownFiles()) {
      for (const target of relativeLinks(readFileSync(join(root, file), 'utf8'))) {
        if (!existsSync(join(root, dirname(file), target))) dead.push(`${file}: ${target}`);
      }
    }
    expect(dead).toEqual([]);
  });
});
