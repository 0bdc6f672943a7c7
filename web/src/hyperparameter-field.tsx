/**
 * One hyperparameter of the training form, built from the rule the API gives for it (kind, range,
 * default): a number input with the rule's min/max/step, a select for a choice, a text field for a
 * list; a value the server would refuse is named by the field before the form can be sent.
 */
import type { HyperparameterRule } from '../../src/sdk/console';

/** The text a field starts with: the rule's default, a list as `64, 64`. */
export const defaultText = (rule: HyperparameterRule): string =>
  Array.isArray(rule.default) ? rule.default.join(', ') : String(rule.default);

const splitList = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

export function parseHyperparameter(rule: HyperparameterRule, text: string): unknown {
  if (rule.kind === 'choice') return text;
  if (rule.kind === 'ints') return splitList(text).map(Number);
  return Number(text);
}

const WHOLE = /^-?\d+$/;
const inRange = (rule: { min: number; max: number }, n: number) => n >= rule.min && n <= rule.max;

/**
 * What is wrong with a field's text, as the server's check would say it (`family.ts` checkRule), or
 * undefined; an empty field is fine (the server uses the default).
 */
export function hyperparameterProblem(
  name: string,
  rule: HyperparameterRule,
  text: string,
): string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (rule.kind === 'choice')
    return rule.choices.includes(t) ? undefined : `${name} must be one of ${rule.choices.join(', ')}`;
  if (rule.kind === 'ints') {
    const parts = splitList(t);
    const ok =
      parts.length >= 1 &&
      parts.length <= rule.maxLength &&
      parts.every((p) => WHOLE.test(p) && inRange(rule, Number(p)));
    return ok
      ? undefined
      : `${name} must be 1 to ${rule.maxLength} whole numbers from ${rule.min} to ${rule.max}, separated by commas`;
  }
  const n = Number(t);
  if (rule.kind === 'int')
    return WHOLE.test(t) && inRange(rule, n)
      ? undefined
      : `${name} must be a whole number from ${rule.min} to ${rule.max}`;
  return Number.isFinite(n) && inRange(rule, n)
    ? undefined
    : `${name} must be a number from ${rule.min} to ${rule.max}`;
}

/** The help under a field: what it does, its range or choices, its default, a list's format. */
export function hyperparameterHint(rule: HyperparameterRule): string {
  if (rule.kind === 'choice') return `${rule.doc} (default ${rule.default})`;
  if (rule.kind === 'ints')
    return `${rule.doc}: up to ${rule.maxLength} whole numbers, ${rule.min}–${rule.max}, comma-separated (default ${defaultText(rule)})`;
  return `${rule.doc} (${rule.min}–${rule.max}, default ${rule.default})`;
}

export function HyperparameterField({
  name,
  rule,
  text,
  onChange,
}: {
  name: string;
  rule: HyperparameterRule;
  text: string;
  onChange: (text: string) => void;
}) {
  const id = `hp-${name}`;
  const problem = hyperparameterProblem(name, rule, text);
  const described = problem ? `${id}-hint ${id}-problem` : `${id}-hint`;
  const common = {
    id,
    name,
    value: text,
    'aria-describedby': described,
    'aria-invalid': problem ? true : undefined,
    onChange: (e: { target: { value: string } }) => onChange(e.target.value),
  };
  return (
    <div className="hp-field">
      <label htmlFor={id}>{name}</label>
      {rule.kind === 'choice' ? (
        <select {...common}>
          {rule.choices.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
      ) : rule.kind === 'ints' ? (
        <input {...common} inputMode="numeric" placeholder={defaultText(rule)} />
      ) : (
        <input
          {...common}
          type="number"
          min={rule.min}
          max={rule.max}
          step={rule.kind === 'int' ? 1 : 'any'}
          placeholder={defaultText(rule)}
        />
      )}
      <span id={`${id}-hint`} className="muted small">
        {hyperparameterHint(rule)}
      </span>
      {problem && (
        <span id={`${id}-problem`} className="field-error small">
          {problem}
        </span>
      )}
    </div>
  );
}
