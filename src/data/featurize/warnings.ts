/**
 * What a prediction input gets silently wrong, said out loud: a column the model does not know
 * (a typo: `{"x11": 1}`), a column it needs but did not get (the training mean or the unknown
 * slot stands in), a category it never saw in training, a text with no word it knows. The model
 * still answers (the encoders handle all four), but the caller is told, and `?strict=true` on
 * predict turns any warning into a 400.
 *
 *   {"pointer": "inputs[0].colour", "code": "unseen_category",
 *    "detail": "inputs[0].colour: 'purple' was not seen in training (known: blue, red); it counts as unknown"}
 */
import { didYouMean } from '../../common/suggest';
import { cellText, isMissing } from '../schema';
import { tokenizerFromSpec } from '../text';
import { UNK_ID } from '../text/tokenizer';
import type { FeatureSpec, TextSpec } from './spec';
import type { TabularSpec } from './tabular';

export type InputWarningCode = 'unknown_column' | 'missing_column' | 'unseen_category' | 'no_known_token';

export interface InputWarning {
  /** Where, as `inputs[i].column` (or `inputs[i]` for a whole text). */
  pointer: string;
  code: InputWarningCode;
  detail: string;
}

/** At most this many warnings per request (1024 rows × a typo would otherwise be 1024 lines). */
export const MAX_WARNINGS = 20;

/** Categories listed in an unseen-category warning before "…". */
const LISTED_CATEGORIES = 8;

function tabularWarnings(spec: TabularSpec, record: Record<string, unknown>, at: string): InputWarning[] {
  const out: InputWarning[] = [];
  const features = spec.features.map((f) => f.name);
  // Ignored columns (free text, ids) and the target are known: sending them changes nothing.
  const known = new Set([...features, ...spec.ignored, ...(spec.target ? [spec.target.name] : [])]);
  for (const key of Object.keys(record)) {
    if (known.has(key)) continue;
    const hint = didYouMean(key, features);
    out.push({
      pointer: `${at}.${key}`,
      code: 'unknown_column',
      detail: `${at}.${key}: the model has no column '${key}'${hint ? ` (${hint})` : ''}; it is ignored`,
    });
  }
  for (const f of spec.features) {
    const cell = record[f.name];
    const pointer = `${at}.${f.name}`;
    if (cell === undefined || cell === null || (typeof cell === 'string' && isMissing(cell))) {
      const stand = f.kind === 'numeric' ? `the training mean (${Number(f.mean.toPrecision(4))})` : 'unknown';
      out.push({
        pointer,
        code: 'missing_column',
        detail: `${pointer}: column '${f.name}' is missing; ${f.kind === 'numeric' ? `${stand} is used` : 'it counts as unknown'}`,
      });
      continue;
    }
    if (f.kind !== 'categorical' || (typeof cell !== 'string' && typeof cell !== 'number')) continue;
    const value = cellText(cell);
    if (f.categories.includes(value)) continue;
    const listed = f.categories.slice(0, LISTED_CATEGORIES).join(', ');
    const more = f.categories.length > LISTED_CATEGORIES ? ', …' : '';
    const hint = didYouMean(value, f.categories);
    out.push({
      pointer,
      code: 'unseen_category',
      detail: `${pointer}: '${value}' was not seen in training${hint ? ` (${hint})` : ` (known: ${listed}${more})`}; it counts as unknown`,
    });
  }
  return out;
}

function textWarnings(spec: TextSpec, record: Record<string, unknown>, at: string): InputWarning[] {
  const text = record[spec.column];
  if (typeof text !== 'string') return [];
  const ids = tokenizerFromSpec(spec.tokenizer).encode(text);
  if (ids.some((id) => id !== UNK_ID)) return [];
  return [
    {
      pointer: at,
      code: 'no_known_token',
      detail: `${at}: no word of this text is in the model's vocabulary; the prediction is a guess`,
    },
  ];
}

/** Warnings for raw prediction records (as `recordsFromInputs` makes them), at most MAX_WARNINGS. */
export function inputWarnings(
  spec: FeatureSpec,
  records: readonly Record<string, unknown>[],
): InputWarning[] {
  const out: InputWarning[] = [];
  for (const [i, record] of records.entries()) {
    const at = `inputs[${i}]`;
    if (spec.kind === 'tabular') out.push(...tabularWarnings(spec, record, at));
    else if (spec.kind === 'text') out.push(...textWarnings(spec, record, at));
    if (out.length >= MAX_WARNINGS) return out.slice(0, MAX_WARNINGS);
  }
  return out;
}
