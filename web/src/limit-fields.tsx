/** The limit inputs of a create form, one labelled number field per limit. */
import type { Limits } from '../../src/sdk/client';
import type { LimitField } from './limits';

export function LimitFields({
  fields,
  values,
  onChange,
}: {
  fields: LimitField[];
  values: Partial<Record<keyof Limits, string>>;
  onChange: (values: Partial<Record<keyof Limits, string>>) => void;
}) {
  return (
    <fieldset className="limits">
      <legend>Limits (empty: none)</legend>
      {fields.map((f) => (
        <label key={f.name} title={f.help}>
          {f.label}
          <input
            type="number"
            min={1}
            step={1}
            name={f.name}
            value={values[f.name] ?? ''}
            onChange={(e) => onChange({ ...values, [f.name]: e.target.value })}
          />
        </label>
      ))}
    </fieldset>
  );
}
