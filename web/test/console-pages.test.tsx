// @vitest-environment happy-dom
/**
 * What the verification of the console as a new user found missing, in happy-dom: a trained
 * version's lineage (dataset and job, from `metadata.lineage`) and its single quality figures
 * (not its curves), an uploaded folder's files by path and size, the catalog refreshing the zoo
 * while it trains, the usage chart's range for a single day and the bar charts of usage by model and key, the audit log's filters, and a page
 * that never shows one model's details under another's name, and a classifier's playground
 * opening on the input it takes.
 */
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelDetail, ZooModel } from '../../src/sdk/client';
import type { HyperparameterRule } from '../../src/sdk/console';
import { barOptions, shortLabel, WHOLE_STEPS } from '../src/bar-chart';
import { dayRange } from '../src/chart';
import { SessionCtx } from '../src/context';
import { useLoad } from '../src/hooks';
import { hyperparameterProblem } from '../src/hyperparameter-field';
import { Catalog, zooBusy } from '../src/pages/catalog';
import { fileFacts, lineageFacts, qualityFacts } from '../src/pages/model-facts';
import { Training } from '../src/pages/training';
import { auditQuery, barColumns, UsageBreakdown } from '../src/pages/usage';
import { inputModeOf } from '../src/playgrounds/classify';
import type { Session } from '../src/session';
import { TabPanel, TabStrip, tabAfterKey } from '../src/tabs';

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

  const row = (model: string, requests: number, units: number) => ({
    model,
    keyId: `key_${model}`,
    requests,
    units,
    errors: 0,
    latencyMsTotal: 5 * requests,
  });

  it('bars by model: the busiest first, requests and units as two columns', () => {
    expect(barColumns([row('cppn', 2, 12), row('gpt', 3, 48)], (r) => r.model ?? '—')).toEqual({
      labels: ['gpt', 'cppn'],
      data: [
        [3, 2],
        [48, 12],
      ],
    });
    expect(shortLabel('key_0123456789abcdef')).toBe('key_012345678…');
    expect(shortLabel('gpt')).toBe('gpt');
  });

  it('by model: a uPlot bar chart named by its figures, and the exact numbers in a table below', () => {
    render(
      <UsageBreakdown
        title="By model"
        x="model"
        rows={[row('gpt', 3, 48), row('cppn', 2, 12)]}
        label={(r) => r.model ?? '—'}
      />,
    );
    const chart = screen.getByRole('img', { name: /^Requests and units by model/ });
    expect(chart.getAttribute('aria-label')).toBe(
      'Requests and units by model. gpt: 3 requests, 48 units; cppn: 2 requests, 12 units',
    );
    expect(chart.getAttribute('data-bars')).toBe('2');
    expect(screen.queryByRole('meter')).toBeNull();
    const cells = within(screen.getByRole('table'))
      .getAllByRole('row')
      .map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent));
    expect(cells.filter((c) => c.length)).toEqual([
      ['gpt', '3', '48', '0', '5 ms'],
      ['cppn', '2', '12', '0', '5 ms'],
    ]);
  });

  it("the chart's options: bars on their own scales, names along the bottom, cut when long", () => {
    const series = [
      { label: 'requests', colour: '#2f5bd3', scale: 'requests' },
      { label: 'units', colour: '#e08a1e', scale: 'units' },
    ];
    const opts = barOptions('By key', 'key', ['key_0123456789abcdef', 'key_b'], series, 900);
    expect(opts.series.slice(1).map((s) => [s.scale, typeof s.paths])).toEqual([
      ['requests', 'function'],
      ['units', 'function'],
    ]);
    expect(opts.axes?.map((a) => a.scale ?? 'x')).toEqual(['x', 'requests', 'units']);
    // Counts: whole ticks only (no 2.5 requests).
    expect(opts.axes?.slice(1).map((a) => (a.incrs as number[]).every(Number.isInteger))).toEqual([
      true,
      true,
    ]);
    expect(WHOLE_STEPS.slice(0, 6)).toEqual([1, 2, 5, 10, 20, 50]);
    const x = opts.axes?.[0] ?? {};
    const splits = (x.splits as () => number[])();
    expect(splits).toEqual([0, 1]);
    expect((x.values as (u: unknown, s: number[]) => string[])(null, splits)).toEqual([
      'key_012345678…',
      'key_b',
    ]);
    // Phone wide with many keys: the names slant.
    const phone = barOptions('By key', 'key', ['a', 'b', 'c', 'd', 'e'], series, 300);
    expect(phone.axes?.[0].rotate).toBe(-30);
    expect(x.rotate).toBe(0);
  });

  it('no rows: says so instead of an empty chart', () => {
    render(<UsageBreakdown title="By key" x="key" rows={[]} label={(r) => r.keyId ?? '—'} />);
    expect(screen.getByText('No requests yet.')).toBeTruthy();
    expect(screen.queryByRole('img')).toBeNull();
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

describe('training form', () => {
  it("problems in the server's words; empty is the default, and a list of only commas is not", () => {
    const hidden: HyperparameterRule = {
      kind: 'ints',
      min: 1,
      max: 4096,
      maxLength: 2,
      default: [64],
      doc: '',
    };
    const rate: HyperparameterRule = { kind: 'number', min: 1e-7, max: 10, default: 0.001, doc: '' };
    expect(hyperparameterProblem('hidden', hidden, ' ')).toBeUndefined();
    expect(hyperparameterProblem('hidden', hidden, '32, 16')).toBeUndefined();
    for (const bad of [', ,', '1, 2, 3', '0', '8.5', 'x'])
      expect(hyperparameterProblem('hidden', hidden, bad), bad).toBe(
        'hidden must be 1 to 2 whole numbers from 1 to 4096, separated by commas',
      );
    expect(hyperparameterProblem('learning_rate', rate, '1e-3')).toBeUndefined();
    expect(hyperparameterProblem('learning_rate', rate, '11')).toBe(
      'learning_rate must be a number from 1e-7 to 10',
    );
  });

  const families = [
    {
      name: 'mlp',
      description: 'MLP',
      dataset_kinds: ['tabular'],
      hyperparameters: {
        epochs: { kind: 'int', min: 1, max: 1000, default: 5, doc: 'Passes' },
        learning_rate: { kind: 'number', min: 1e-7, max: 10, default: 0.001, doc: 'Adam step size' },
        lr_schedule: {
          kind: 'choice',
          choices: ['constant', 'cosine'],
          default: 'constant',
          doc: 'Schedule',
        },
        hidden: { kind: 'ints', min: 1, max: 4096, maxLength: 8, default: [64, 64], doc: 'Hidden widths' },
      },
    },
  ];
  const started: unknown[] = [];
  const client = {
    families: async () => families,
    listDatasets: async () => [{ name: 'xor', kind: 'tabular', rows: 4 }],
    listTrainings: async () => [],
    createTraining: async (req: unknown) => {
      started.push(req);
      return { id: 'trn_1' };
    },
  };
  const session = { key: 'k', me: { tenant: 't', key_id: 'k', scopes: ['manage'], limits: {} }, client };
  const renderForm = async () => {
    render(
      <SessionCtx.Provider value={{ session: session as unknown as Session, signOut: () => {} }}>
        <Training />
      </SessionCtx.Provider>,
    );
    await act(async () => {});
  };
  const field = (name: string) => screen.getByLabelText(name) as HTMLInputElement;
  const submit = () => screen.getByRole('button', { name: 'Start training' }) as HTMLButtonElement;

  it("fields from the API's rules: number inputs with its range and step, a select, a list with its format", async () => {
    await renderForm();
    const epochs = field('epochs');
    expect([epochs.type, epochs.min, epochs.max, epochs.step, epochs.value]).toEqual([
      'number',
      '1',
      '1000',
      '1',
      '5',
    ]);
    const rate = field('learning_rate');
    expect([rate.type, rate.min, rate.max, rate.step, rate.value]).toEqual([
      'number',
      '1e-7',
      '10',
      'any',
      '0.001',
    ]);
    const schedule = field('lr_schedule') as unknown as HTMLSelectElement;
    expect([schedule.tagName, [...schedule.options].map((o) => o.value), schedule.value]).toEqual([
      'SELECT',
      ['constant', 'cosine'],
      'constant',
    ]);
    const hidden = field('hidden');
    expect([hidden.type, hidden.value]).toEqual(['text', '64, 64']);
    expect(
      screen.getByText(/up to 8 whole numbers, 1–4096, comma-separated \(default 64, 64\)/),
    ).toBeTruthy();
    expect(screen.getByText('Passes (1–1000, default 5)')).toBeTruthy();
  });

  it('an out-of-range value is named by its field and blocks the submit; a fixed one is sent', async () => {
    started.length = 0;
    await renderForm();
    fireEvent.change(field('epochs'), { target: { value: '0' } });
    fireEvent.change(field('hidden'), { target: { value: '64, 0.5' } });
    expect(field('epochs').getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('hp-epochs-problem')?.textContent).toBe(
      'epochs must be a whole number from 1 to 1000',
    );
    expect(field('epochs').getAttribute('aria-describedby')).toContain('hp-epochs-problem');
    expect(document.getElementById('hp-hidden-problem')?.textContent).toBe(
      'hidden must be 1 to 8 whole numbers from 1 to 4096, separated by commas',
    );
    expect(submit().disabled).toBe(true);
    expect(screen.getByRole('alert').textContent).toContain('Fix these 2 hyperparameters first');
    fireEvent.submit(screen.getByRole('form', { name: 'Start a training' }));
    await act(async () => {});
    expect(started).toEqual([]);

    fireEvent.change(field('epochs'), { target: { value: '150' } });
    fireEvent.change(field('hidden'), { target: { value: '32 16' } });
    fireEvent.change(field('learning_rate'), { target: { value: '' } });
    expect(field('epochs').getAttribute('aria-invalid')).toBeNull();
    expect(submit().disabled).toBe(false);
    fireEvent.submit(screen.getByRole('form', { name: 'Start a training' }));
    await act(async () => {});
    // The emptied field is left to the server's default.
    expect(started).toEqual([
      {
        family: 'mlp',
        dataset: 'xor',
        model: 'my-model',
        hyperparameters: { epochs: 150, lr_schedule: 'constant', hidden: [32, 16] },
      },
    ]);
  });
});

/** A strip of three playground tabs whose choice lives in state, as the route keeps it on a model page. */
function Strip({ picked }: { picked: string[] }) {
  const [current, setCurrent] = useState('chat');
  const tabs = ['chat', 'completion', 'tensors'].map((t) => ({ id: t, label: t, href: `#/models/m/${t}` }));
  return (
    <>
      <TabStrip
        id="pg"
        label="Playgrounds"
        tabs={tabs}
        current={current}
        onPick={(t) => {
          picked.push(t);
          setCurrent(t);
        }}
      />
      <TabPanel id="pg" current={current}>
        <p>{current} playground</p>
      </TabPanel>
    </>
  );
}

describe('tab strips', () => {
  it('keys: Right and Left wrap around, Home and End go to the ends, others are left alone', () => {
    expect([0, 1, 2].map((at) => tabAfterKey('ArrowRight', at, 3))).toEqual([1, 2, 0]);
    expect([0, 1, 2].map((at) => tabAfterKey('ArrowLeft', at, 3))).toEqual([2, 0, 1]);
    expect([tabAfterKey('Home', 2, 3), tabAfterKey('End', 0, 3), tabAfterKey('Enter', 1, 3)]).toEqual([
      0,
      2,
      undefined,
    ]);
  });

  it('the ARIA tabs pattern: roles, one selected tab in the Tab order, arrows move focus and the panel', () => {
    const picked: string[] = [];
    render(<Strip picked={picked} />);
    expect(screen.getByRole('tablist', { name: 'Playgrounds' })).toBeTruthy();
    const state = () =>
      screen.getAllByRole('tab').map((t) => [t.textContent, t.getAttribute('aria-selected'), t.tabIndex]);
    expect(state()).toEqual([
      ['chat', 'true', 0],
      ['completion', 'false', -1],
      ['tensors', 'false', -1],
    ]);
    const panel = screen.getByRole('tabpanel');
    expect(panel.getAttribute('aria-labelledby')).toBe('pg-tab-chat');
    expect(screen.getByRole('tab', { name: 'chat' }).getAttribute('aria-controls')).toBe(panel.id);

    const tab = (name: string) => screen.getByRole('tab', { name });
    tab('chat').focus();
    fireEvent.keyDown(tab('chat'), { key: 'ArrowRight' });
    expect(document.activeElement).toBe(tab('completion'));
    expect(state()[1]).toEqual(['completion', 'true', 0]);
    expect(screen.getByRole('tabpanel', { name: 'completion' }).textContent).toBe('completion playground');
    fireEvent.keyDown(tab('completion'), { key: 'End' });
    expect(document.activeElement).toBe(tab('tensors'));
    fireEvent.keyDown(tab('tensors'), { key: 'ArrowRight' });
    expect(document.activeElement).toBe(tab('chat'));
    fireEvent.keyDown(tab('chat'), { key: 'ArrowLeft' });
    fireEvent.keyDown(tab('tensors'), { key: 'Home' });
    fireEvent.keyDown(tab('chat'), { key: 'a' });
    expect(picked).toEqual(['completion', 'tensors', 'chat', 'tensors', 'chat']);
    expect(state().filter(([, , index]) => index === 0)).toEqual([['chat', 'true', 0]]);
  });
});
