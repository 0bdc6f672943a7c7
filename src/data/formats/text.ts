import type { DataLimits } from '../limits';
import { atLine, badData, checkRowCap, DEFAULT_MAX_ROWS } from '../problems';
import type { Row } from '../table';
import { openText, readLines } from './source';

/** A plain text corpus as rows: one row per non-blank line, in the column `text`. */
export async function* readTextLines(
  path: string,
  maxRows = DEFAULT_MAX_ROWS,
  limits: Partial<DataLimits> = {},
): AsyncGenerator<Row> {
  let count = 0;
  for await (const { line, text } of readLines(path, limits)) {
    if (text.trim() === '') continue;
    checkRowCap(++count, maxRows, atLine(line));
    yield { where: atLine(line), values: { text } };
  }
}

/** Default cap for a corpus read whole (language-model training): 256 MiB of text. */
export const DEFAULT_MAX_CORPUS_CHARS = 256 * 1024 * 1024;

/** The whole corpus as one string, for language models; refuses more than `maxChars`. */
export async function readCorpus(path: string, maxChars = DEFAULT_MAX_CORPUS_CHARS): Promise<string> {
  const parts: string[] = [];
  let total = 0;
  for await (const chunk of await openText(path)) {
    total += chunk.length;
    if (total > maxChars) badData('file', `corpus longer than ${maxChars} characters`);
    parts.push(chunk);
  }
  const text = parts.join('');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
