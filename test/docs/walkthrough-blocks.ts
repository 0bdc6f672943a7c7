/**
 * The runnable walk-throughs of README.md and docs/*.md: every ```console block, read as a shell
 * session. The convention (docs/cli.md, "Walk-throughs are tested"):
 *
 * - A line that starts with `$ ` is a command; a command line ending in `\`, or inside a quoted
 *   string that a later line closes (a multi-line `node -e '…'` or JSON body), continues on the
 *   next line. Every other line is the output the command printed.
 * - An HTML comment on the line before the fence marks a block:
 *   `<!-- walkthrough: server -->` is the server the following blocks talk to (the test starts
 *   it itself, on a free port, with the data folder and MAAS_ZOO the command names);
 *   `<!-- walkthrough: needs postgres -->` runs when PostgreSQL is reachable (always in CI, where
 *   MAAS_REQUIRE_SERVICES=1 makes its absence a failure);
 *   `<!-- walkthrough: skip REASON -->` is not run (it needs the full zoo, PostgreSQL, minutes of
 *   training …); the test lists it as skipped with the reason.
 * - Shown output is compared tolerantly (`normalizeLine`): numbers, ids, keys and hashes may
 *   differ, lines must appear in order, and `…` lines and progress lines (with an ETA) are not
 *   compared. Output that starts with `error:` means the command must fail; output without an
 *   `error:` line, that it must succeed (`expectedStatus`).
 */

export interface DocCommand {
  /** 1-based line of the `$ ` line in the file. */
  line: number;
  /** The command as a shell reads it (continuation lines joined with their newline). */
  text: string;
  /** The output lines the doc shows under it. */
  expected: string[];
}

/** `needs`: a service the block uses (run when it is reachable, like the PostgreSQL suites). */
export type BlockMark =
  | { kind: 'run'; needs?: 'postgres' }
  | { kind: 'server' }
  | { kind: 'skip'; reason: string };

export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  mark: BlockMark;
  commands: DocCommand[];
}

/**
 * Whether shell text ends inside a quoted string ('…' or "…"), so the command goes on on the next
 * line. Enough for the docs' commands: `$(…)` inside double quotes must not hold double quotes.
 */
export function endsInsideQuotes(text: string): boolean {
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = null;
    } else if (c === '\\') i++;
    else if (quote === '"') {
      if (c === '"') quote = null;
    } else if (c === "'" || c === '"') quote = c;
    // A comment (`# it's …`) runs to the end of its line: its quotes quote nothing.
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) i = text.indexOf('\n', i) >>> 0;
  }
  return quote !== null;
}

const MARK = /^<!--\s*walkthrough:\s*(server|skip|needs postgres)\b\s*(.*?)\s*-->\s*$/;

function markBefore(lines: string[], fence: number): BlockMark {
  let i = fence - 1;
  while (i >= 0 && lines[i].trim() === '') i--;
  const m = i >= 0 ? MARK.exec(lines[i].trim()) : null;
  if (!m) return { kind: 'run' };
  if (m[1] === 'server') return { kind: 'server' };
  if (m[1] === 'needs postgres') return { kind: 'run', needs: 'postgres' };
  return { kind: 'skip', reason: m[2] || 'no reason given' };
}

/** The ```console blocks of one Markdown text, in order. */
export function consoleBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```console') continue;
    // A block inside a list item is indented: its lines are read without the fence's indent.
    const indent = lines[i].length - lines[i].trimStart().length;
    const block: DocBlock = { file, line: i + 1, mark: markBefore(lines, i), commands: [] };
    let j = i + 1;
    for (; j < lines.length && lines[j].trim() !== '```'; j++) {
      const l = lines[j].slice(Math.min(indent, lines[j].length - lines[j].trimStart().length));
      if (l.startsWith('$ ')) {
        const cmd: DocCommand = { line: j + 1, text: l.slice(2), expected: [] };
        const goesOn = () => cmd.text.endsWith('\\') || endsInsideQuotes(cmd.text);
        while (goesOn() && j + 1 < lines.length && lines[j + 1].trim() !== '```') {
          j++;
          cmd.text += `\n${lines[j].slice(indent)}`;
        }
        block.commands.push(cmd);
      } else if (block.commands.length > 0) {
        block.commands[block.commands.length - 1].expected.push(l);
      }
    }
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/**
 * A line as compared: ids, keys, hashes and numbers become placeholders and runs of spaces one
 * space, so that a re-run (other keys, timings, a retrained model's probabilities) still matches
 * while the words, the columns and the shape of JSON must stay as documented.
 */
export function normalizeLine(line: string): string {
  return (
    line
      .replace(/maas_[A-Za-z0-9_-]{10,}/g, 'maas_KEY')
      .replace(/[0-9a-f]{12,}/g, 'ID')
      // Short random ids, such as a fine-tuned model's `ft-text-cnn-weather-655cff7e`: 8 hex
      // characters with a digit and a letter (so no English word and no plain number).
      .replace(/\b(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{8}\b/g, 'ID')
      .replace(/-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g, '#')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** Lines a doc shows that no run reproduces exactly: elisions and progress lines. */
function compared(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('…') && !t.startsWith('...') && !/\bETA\b/.test(t);
}

/** The shown lines missing from `actual` (in order); empty when the output matches. */
export function missingLines(expected: string[], actual: string): string[] {
  const got = actual.split('\n').map(normalizeLine);
  const missing: string[] = [];
  let at = 0;
  for (const line of expected.filter(compared)) {
    const want = normalizeLine(line);
    const found = got.indexOf(want, at);
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

/**
 * The exit status a command must have: output that starts with `error:` documents a failing
 * command; an `error:` line further down (a loop that ends refused) allows either; no `error:`
 * line, success.
 */
export function expectedStatus(cmd: DocCommand): 'fails' | 'succeeds' | 'either' {
  const shown = cmd.expected.filter((l) => l.trim() !== '');
  if (shown[0]?.startsWith('error:')) return 'fails';
  return shown.some((l) => l.startsWith('error:')) ? 'either' : 'succeeds';
}
