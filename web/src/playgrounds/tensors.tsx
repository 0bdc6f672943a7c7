/** A form generated from the model's KServe v2 metadata: one field per input tensor. */
import { type FormEvent, useState } from 'react';
import type { V2InferResponse, V2Tensor } from '../../../src/sdk/client';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { ErrorNote, Loading } from '../ui';
import type { PlaygroundProps } from './registry';

/** -1 (any) dimensions become 1: one example. */
const concrete = (shape: number[]) => shape.map((d) => (d < 0 ? 1 : d));
const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function parseValues(text: string, datatype: string): (number | boolean)[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  return parts.map((p) => {
    if (datatype === 'BOOL') return p === 'true' || p === '1';
    const n = Number(p);
    if (!Number.isFinite(n)) throw new Error(`'${p.slice(0, 20)}' is not a number`);
    return n;
  });
}

export function TensorPlayground({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const meta = useLoad(() => client.v2Metadata(model), [client, model]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<V2InferResponse | null>(null);
  const [error, setError] = useState<unknown>();
  if (meta.error) return <ErrorNote error={meta.error} />;
  if (!meta.data) return <Loading what="metadata" />;
  const inputs = meta.data.inputs;
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const tensors: V2Tensor[] = inputs.map((t) => {
        const shape = concrete(t.shape);
        const text = values[t.name] ?? new Array(count(shape)).fill(0).join(', ');
        return {
          name: t.name,
          shape,
          datatype: t.datatype as V2Tensor['datatype'],
          data: parseValues(text, t.datatype),
        };
      });
      setResult(await client.infer(model, { inputs: tensors }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={run} aria-label="Tensor form">
      {inputs.map((t) => {
        const shape = concrete(t.shape);
        return (
          <label key={t.name}>
            {t.name} — {t.datatype} [{t.shape.join(', ')}], {count(shape)} values
            <textarea
              rows={2}
              value={values[t.name] ?? new Array(Math.min(count(shape), 4096)).fill(0).join(', ')}
              onChange={(e) => setValues((v) => ({ ...v, [t.name]: e.target.value }))}
            />
          </label>
        );
      })}
      <button type="submit">Run</button>
      <ErrorNote error={error} />
      {result && <pre className="code small">{JSON.stringify(result.outputs, null, 1).slice(0, 4000)}</pre>}
    </form>
  );
}
