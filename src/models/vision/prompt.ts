/**
 * Prompt → class for class-conditional generators. A vocabulary lists each class's words; a prompt
 * selects the one class whose word (or phrase) it contains as whole words:
 * "a handwritten 7", "digit seven", "7", "Seven!" → class 7. A prompt that names no class, or two
 * different ones ("3 or 8"), is refused with `invalid_request` listing what is accepted.
 */
import { fail } from '../../common/errors';

export interface ClassVocabulary {
  /** By class id: the class name and the lower-case words/phrases that select it. */
  classes: { name: string; terms: string[] }[];
  /** Prompts shown in errors and docs. */
  examples: string[];
}

const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** Digits '0'..'9': the numeral and its English word ('0' also 'nought'). */
export function digitVocabulary(classNames: readonly string[]): ClassVocabulary {
  return {
    classes: classNames.map((name) => {
      const d = Number(name);
      const terms = [name.toLowerCase()];
      if (Number.isInteger(d) && d >= 0 && d <= 9) terms.push(DIGIT_WORDS[d]);
      if (d === 0) terms.push('nought');
      return { name, terms };
    }),
    examples: ['a handwritten 7', 'digit seven', '7'],
  };
}

/** Most characters of a prompt we look at (OpenAI allows 1,000 for its smaller models). */
export const MAX_PROMPT_CHARS = 1000;

/** Lower-case words separated by single spaces, padded: " a handwritten 7 ". */
function normalise(text: string): string {
  return ` ${text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;
}

/** A short description of what prompts the vocabulary accepts. */
export function acceptedPrompts(v: ClassVocabulary): string {
  const names = v.classes.map((c) => c.terms.join('/')).join(', ');
  return `name one class (${names}), e.g. ${v.examples.map((e) => JSON.stringify(e)).join(', ')}`;
}

/** The class id a prompt names, or `invalid_request`. */
export function classFromPrompt(prompt: string, v: ClassVocabulary): number {
  if (typeof prompt !== 'string' || prompt.length > MAX_PROMPT_CHARS)
    fail('invalid_request', `prompt must be a string of at most ${MAX_PROMPT_CHARS} characters`);
  const text = normalise(prompt);
  const found = new Set<number>();
  v.classes.forEach((c, id) => {
    if (c.terms.some((t) => text.includes(normalise(t)))) found.add(id);
  });
  if (found.size === 1) return [...found][0];
  if (found.size === 0)
    fail('invalid_request', `the prompt names no class this model draws; ${acceptedPrompts(v)}`);
  const names = [...found].map((id) => v.classes[id].name).join(', ');
  fail('invalid_request', `the prompt names several classes (${names}); ${acceptedPrompts(v)}`);
}
