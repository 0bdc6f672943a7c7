/**
 * Prompt → class for class-conditional generators. A vocabulary lists each class's words; a prompt
 * selects the one class whose word (or phrase) it contains as whole words, singular or plural:
 * "a handwritten 7", "digit seven", "7", "Seven!" → class 7; "an ankle boot", "Sneakers",
 * "a t-shirt" → that clothing class. The longest term wins where terms overlap ("t-shirt" is not
 * also "shirt"). A prompt that names no class, or two different ones ("3 or 8"), is refused with
 * `invalid_request` listing what is accepted. The vocabulary is built from the class names when
 * the model is trained and stored in its metadata, so the runtime knows nothing of any dataset.
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

/**
 * Extra words for class names, by lower-case name (Fashion-MNIST's ten). A name missing here is
 * selected by its own words only (each '/'-separated part: "T-shirt/top" → "t-shirt", "top").
 */
const CLASS_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  't-shirt/top': ['t shirt', 'tshirt', 'tee'],
  trouser: ['trousers', 'pants', 'jeans'],
  pullover: ['sweater', 'jumper'],
  coat: ['jacket'],
  sneaker: ['trainer'],
  bag: ['handbag', 'purse'],
  'ankle boot': ['boot'],
};

/** Whether every class name is a numeral 0..9 (the digit datasets). */
const isDigitClass = (name: string) => /^[0-9]$/.test(name);

/**
 * The vocabulary of any class list: digits get numerals and number words, other names their own
 * words plus CLASS_SYNONYMS. ["Ankle boot", "Bag", …] → "ankle boot"/"boot", "bag"/"handbag"/"purse", …
 */
export function classVocabulary(classNames: readonly string[]): ClassVocabulary {
  if (classNames.length > 0 && classNames.every(isDigitClass)) return digitVocabulary(classNames);
  const classes = classNames.map((name) => {
    const lower = name.toLowerCase();
    const own = lower.split('/').map((t) => t.trim());
    const terms = [...new Set([...own, ...(CLASS_SYNONYMS[lower] ?? [])])].filter((t) => t !== '');
    return { name, terms };
  });
  const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);
  const examples = classes.slice(0, 3).map((c) => article(c.terms[0]));
  return { classes, examples };
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
  const found = classesIn(normalise(prompt), v);
  if (found.size === 1) return [...found][0];
  if (found.size === 0)
    fail('invalid_request', `the prompt names no class this model draws; ${acceptedPrompts(v)}`);
  const names = [...found]
    .sort((a, b) => a - b)
    .map((id) => v.classes[id].name)
    .join(', ');
  fail('invalid_request', `the prompt names several classes (${names}); ${acceptedPrompts(v)}`);
}

/** Plural endings a term may carry in a prompt ("boots", "dresses", "7s"). */
const PLURALS = ['', 's', 'es'];

/**
 * The class ids whose terms occur in `text` (normalised) as whole words. Longest terms first, and
 * each match is blanked out, so "t shirt" selects T-shirt and leaves no "shirt" for Shirt.
 */
function classesIn(text: string, v: ClassVocabulary): Set<number> {
  const terms = v.classes
    .flatMap((c, id) => c.terms.map((t) => ({ id, words: normalise(t).trim() })))
    .filter((t) => t.words !== '')
    .sort((a, b) => b.words.length - a.words.length);
  const found = new Set<number>();
  let rest = text;
  for (const t of terms) {
    for (const ending of PLURALS) {
      const needle = ` ${t.words}${ending} `;
      if (!rest.includes(needle)) continue;
      found.add(t.id);
      // Keep the spaces around the blanked words: neighbours stay whole words, and a repeat
      // sharing a space with this match (" t shirt t shirt ") is found on the next pass.
      const blank = ` ${'_'.repeat(needle.length - 2)} `;
      while (rest.includes(needle)) rest = rest.replace(needle, blank);
    }
  }
  return found;
}
