/**
 * "Did you mean …?": the known names closest to a misspelt one (`fruitt` → `fruit`,
 * `--epoch` → `--epochs`), for error messages on every surface (CLI flags, model names,
 * hyperparameters, columns).
 */

/** Levenshtein distance (insertions, deletions, substitutions each cost 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Known names close to `word`, closest first: within an edit distance of about a third of the
 * word's length (at least 1, at most 3), or case-insensitively equal. At most `limit` of them.
 */
export function nearest(word: string, known: Iterable<string>, limit = 3): string[] {
  const budget = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  const lower = word.toLowerCase();
  const scored: { name: string; d: number }[] = [];
  for (const name of new Set(known)) {
    if (name === word) continue;
    const d = name.toLowerCase() === lower ? 0 : editDistance(lower, name.toLowerCase());
    if (d <= budget) scored.push({ name, d });
  }
  return scored
    .sort((x, y) => x.d - y.d || x.name.localeCompare(y.name))
    .slice(0, limit)
    .map((s) => s.name);
}

/** `did you mean 'fruit'?` / `did you mean 'a' or 'b'?`, or '' when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>, quote = "'"): string {
  const close = nearest(word, known).map((n) => `${quote}${n}${quote}`);
  if (close.length === 0) return '';
  const list = close.length === 1 ? close[0] : `${close.slice(0, -1).join(', ')} or ${close.at(-1)}`;
  return `did you mean ${list}?`;
}
