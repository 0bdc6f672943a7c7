/**
 * No file in the repository points at a document outside it: design notes that are not in the
 * repository are unreadable to whoever clones it. Everything a pointer needs lives under docs/.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// Built from parts so that this file does not match itself.
const noteNames = ['ARCHITECTURE', 'SECURITY', 'BENCHMARKS', 'DATA', 'CONVENTIONS'].map((n) => `${n}\\.md`);
const outsidePointer = new RegExp(
  [
    `\\b(?:${noteNames.join('|')})\\b`,
    '\\b(?:ENGINE|LLM)-NOTES\\b',
    '(?:\\.\\./)+shared/',
    '\\bshared/[A-Z]',
  ].join('|'),
);

/** Tracked files (git), or every file outside dot-folders and node_modules where there is no git. */
function repositoryFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
  } catch {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        if (name.startsWith('.') || name === 'node_modules' || name === 'data') return [];
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [relative(root, path)];
      });
    return walk(root);
  }
}

const binary = /\.(png|jpe?g|onnx|gz|tgz|zip|tar|wav|bin)$/i;

describe('the repository is self-contained', () => {
  it('the pattern catches what it must and nothing else', () => {
    const dot = '.';
    const badExamples = [
      `see ${dot}./shared/x`,
      `SECURITY${dot}md §9`,
      `ENGINE-${'NOTES'}: fast`,
      `shared/${'BENCH'}`,
    ];
    for (const bad of badExamples) {
      expect(outsidePointer.test(bad), bad).toBe(true);
    }
    for (const good of ['docs/security.md §9', 'src/api/shared.ts', 'a shared/volume', 'DATA.md5']) {
      expect(outsidePointer.test(good), good).toBe(false);
    }
  });

  it('no file mentions a design note outside the repository (point at docs/ instead)', () => {
    const offenders: string[] = [];
    for (const file of repositoryFiles()) {
      if (binary.test(file)) continue;
      let text: string;
      try {
        text = readFileSync(join(root, file), 'utf8');
      } catch {
        continue; // listed by git but deleted in the work tree
      }
      text.split('\n').forEach((line, i) => {
        if (outsidePointer.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
