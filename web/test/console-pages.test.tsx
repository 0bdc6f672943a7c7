// @vitest-environment happy-dom
/**
 * What the verification of the console as a new user found missing, in happy-dom: a trained
 * version's lineage (dataset and job, from `metadata.lineage`) and its single quality figures
 * (not its curves), an uploaded folder's files by path and size, the catalog refreshing the zoo
 * while it trains, the usage chart's range for a single day and the bars of the usage tables, the audit log's filters, and a page
 * that never shows one model's details under another's name, and a classifier's playground
 * opening on the input it takes.
 */
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelDetail, ZooModel } from '../../src/sdk/client';
import { dayRange } from '../src/chart';
import { SessionCtx } from '../src/context';
import { useLoad } from '../src/hooks';
import { Catalog, zooBusy } from '../src/pages/catalog';
import { fileFacts, lineageFacts, qualityFacts } from '../src/pages/model-facts';
import { auditQuery, UsageTable } from '../src/pages/usage';
import { inputModeOf } from '../src/playgrounds/classify';
import type { Session } from '../src/session';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('model page facts', () => {
  const trained = {
    family: 'mlp',
    task: 'classification',
    metrics: {
      validationLoss: 0.0037225,
      accuracy: 1,
      classes: ['hi', 'lo'],
      lossCurve: [0.9, 0.5],
      confusion: [
        [1, 0],
        [0, 1],
      ],
    },
    lineage: { job: 'trn_615862ae', dataset: 'sums', datasetDigest: 'sha256:ab', seed: 0, steps: 700 },
  };

  it("a trained version names its dataset and job, linked for the model's owner only", () => {
    expect(lineageFacts(trained, true)).toEqual([
      { label: 'family', value: 'mlp' },
      { label: 'dataset', value: 'sums', link: '#/datasets/sums' },
      { label: 'training job', value: 'trn_615862ae', link: '#/trainings/trn_615862ae' },
      { label: 'seed', value: '0' },
      { label: 'steps', value: '700' },
    ]);
    expect(lineageFacts(trained, false).filter((f) => f.link)).toEqual([]);
    expect(lineageFacts({ lineage: { quantized_from: { version: 2 } } }, true)).toEqual([
      { label: 'quantized from', value: 'version 2' },
    ]);
    expect(lineageFacts({}, true)).toEqual([]);
  });

  it('quality: the single figures, rounded; curves, classes and matrices left out', () => {
    expect(qualityFacts(trained)).toEqual([
      { label: 'validationLoss', value: '0.0037' },
      { label: 'accuracy', value: '1' },
    ]);
    // A zoo model's `quality` wins over `metrics`.
    expect(
      qualityFacts({ quality: { metric: 'heldout_accuracy', value: 0.962, details: {} }, metrics: { x: 1 } }),
    ).toEqual([
      { label: 'metric', value: 'heldout_accuracy' },
      { label: 'value', value: '0.9620' },
    ]);
  });

  it("an uploaded folder's files by path and size", () => {
    const meta = {
      files: [
        { path: 'onnx/model.onnx', digest: 'sha256:58', sizeBytes: 2048 },
        { path: 'tokenizer.json', digest: 'sha256:48', sizeBytes: 10 },
      ],
    };
    expect(fileFacts(meta, (n) => `${n} B`)).toEqual([
      { label: 'onnx/model.onnx', value: '2048 B' },
      { label: 'tokenizer.json', value: '10 B' },
    ]);
  });
});

describe('catalog', () => {
  const zooRow = (state: ZooModel['state'], step: number): ZooModel =>
    ({
      name: 'gpt',
      model: 'zoo~gpt',
      family: 'gpt',
      task: 'text-generation',
      description: 'GPT',
      state,
      progress: { step, steps: 10 },
    }) as unknown as ZooModel;

  it('zoo rows that are queued or training will change; ready, missing and failed ones will not', () => {
    expect(zooBusy([zooRow('ready', 0), zooRow('queued', 0)])).toBe(true);
    expect(zooBusy([zooRow('training', 3)])).toBe(true);
    expect(zooBusy([zooRow('ready', 0), zooRow('missing', 0), zooRow('failed', 0)])).toBe(false);
    expect(zooBusy(undefined)).toBe(false);
  });

  it('asks for the zoo again while it trains, so the progress bar moves without a reload', async () => {
    vi.useFakeTimers();
    const answers = [zooRow('training', 2), zooRow('training', 6), zooRow('ready', 10)];
    let asked = 0;
    const client = {
      listModels: async () => [],
      // Never answers: the speech table is not what this test is about.
      speechVoices: () => new Promise(() => {}),
      zoo: async () => ({ models: [answers[Math.min(asked++, answers.length - 1)]] }),
    };
    const session = { key: 'k', me: { tenant: 't', key_id: 'k', scopes: ['infer'], limits: {} }, client };
    render(
      <SessionCtx.Provider value={{ session: session as unknown as Session, signOut: () => {} }}>
        <Catalog />
      </SessionCtx.Provider>,
    );
    await act(async () => {});
    expect(screen.getByRole('progressbar', { name: 'gpt training' }).getAttribute('value')).toBe('0.2');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
    });
    expect(screen.getByRole('progressbar', { name: 'gpt training' }).getAttribute('value')).toBe('0.6');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
    });
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.getByRole('link', { name: 'zoo~gpt' })).toBeTruthy();
    // Ready: no more asking.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    expect(asked).toBe(3);
  });
});

describe('usage', () => {
  const day = (d: string) => Date.parse(d) / 1000;

  it('the chart by day spans at least a week and ends half a day after the last day', () => {
    expect(dayRange([day('2026-12-02')])).toEqual([day('2026-11-26'), day('2026-12-02') + 43_200]);
    expect(dayRange([day('2026-11-01'), day('2026-12-02')])).toEqual([
      day('2026-11-01'),
      day('2026-12-02') + 43_200,
    ]);
  });

  it("by model: a bar per row, each row's billed units against the busiest row's", () => {
    const row = (model: string, units: number) => ({
      model,
      requests: 1,
      units,
      errors: 0,
      latencyMsTotal: 5,
    });
    render(
      <UsageTable title="By model" rows={[row('gpt', 48), row('cppn', 12)]} label={(r) => r.model ?? '—'} />,
    );
    const bar = (m: string) => screen.getByRole('meter', { name: `billed units of ${m}` });
    expect([bar('gpt'), bar('cppn')].map((b) => [b.getAttribute('value'), b.getAttribute('max')])).toEqual([
      ['48', '48'],
      ['12', '48'],
    ]);
  });

  it('audit filters: empty fields left out, the last day included whole', () => {
    expect(auditQuery({ action: ' ', tenant: '', from: '', to: '' })).toEqual({ limit: 100 });
    expect(
      auditQuery({ action: 'key.create ', tenant: 'acme', from: '2026-12-01', to: '2026-12-31' }),
    ).toEqual({
      action: 'key.create',
      tenant: 'acme',
      from: '2026-12-01',
      to: '2027-01-01',
      limit: 100,
    });
  });
});

/** Shows what useLoad has for `name`; hands its reload out. */
function Page({
  name,
  ask,
  reloads,
}: {
  name: string;
  ask: (name: string) => Promise<string>;
  reloads: (() => void)[];
}) {
  const loaded = useLoad(() => ask(name), [name]);
  reloads.push(loaded.reload);
  return <p data-testid="shown">{loaded.data ?? 'loading'}</p>;
}

describe('loading', () => {
  it("another model's page drops the last answer at once; a reload of the same keeps it", async () => {
    const answers = new Map<string, (v: string) => void>();
    const asked: string[] = [];
    const ask = (name: string) =>
      new Promise<string>((resolve) => {
        asked.push(name);
        answers.set(name, resolve);
      });
    const reloads: (() => void)[] = [];
    const { rerender } = render(<Page name="zoo~image-gen" ask={ask} reloads={reloads} />);
    await act(async () => answers.get('zoo~image-gen')?.('image-gen details'));
    expect(screen.getByTestId('shown').textContent).toBe('image-gen details');
    rerender(<Page name="zoo~cppn" ask={ask} reloads={reloads} />);
    expect(screen.getByTestId('shown').textContent).toBe('loading');
    await act(async () => answers.get('zoo~cppn')?.('cppn details'));
    expect(screen.getByTestId('shown').textContent).toBe('cppn details');
    act(() => reloads.at(-1)?.());
    expect(screen.getByTestId('shown').textContent).toBe('cppn details');
    expect(asked).toEqual(['zoo~image-gen', 'zoo~cppn', 'zoo~cppn']);
  });
});

describe('classify playground', () => {
  const trainedOn = (kind: string | undefined, task?: string) =>
    ({
      task,
      versions: [{ metadata: kind ? { featureSpec: { kind } } : {} }],
    }) as unknown as ModelDetail;

  it('opens on what the classifier was trained on: text for a spam filter, a row for a table', () => {
    expect(inputModeOf(trainedOn('text', 'classification'))).toBe('text');
    expect(inputModeOf(trainedOn('tabular', 'classification'))).toBe('row');
    expect(inputModeOf(trainedOn('image', 'classification'))).toBe('image');
    // An upload: its label, else a drawing pad.
    expect(inputModeOf(trainedOn(undefined, 'text-classification'))).toBe('text');
    expect(inputModeOf(trainedOn(undefined, 'tabular'))).toBe('row');
    expect(inputModeOf(trainedOn(undefined))).toBe('image');
  });
});
