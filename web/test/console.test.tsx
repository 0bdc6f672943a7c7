// @vitest-environment happy-dom
/**
 * The console's non-trivial parts, rendered in happy-dom: the sign-in's error line, the
 * explanation view, the chat request and its code, the loss and metric charts' columns, the
 * playgrounds a model's kind gets, the PCA projection and neighbours of the embeddings
 * playground, the CPPN sliders → request mapping, limits, the parsers, and the SDK's SSE reader.
 */
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelDetail } from '../../src/sdk/client';
import { MaasApiError } from '../../src/sdk/client';
import { sseData } from '../../src/sdk/console';
import type { TrainingEvent } from '../../src/sdk/training';
import { SessionCtx } from '../src/context';
import { explainError } from '../src/errors';
import { parseHyperparameter } from '../src/hyperparameter-field';
import { describeLimits, KEY_LIMITS, limitsFrom, TENANT_LIMITS } from '../src/limits';
import { datasetNameOf } from '../src/pages/datasets';
import { lossColumns, metricColumns } from '../src/pages/job';
import { SignIn } from '../src/pages/signin';
import { dayColumns } from '../src/pages/usage';
import { buildChatRequest } from '../src/playgrounds/chat';
import { ExplanationView } from '../src/playgrounds/classify';
import { chatCurl, chatOpenAI } from '../src/playgrounds/code';
import { CppnExplorer } from '../src/playgrounds/cppn';
import { cppnRequest, DEFAULT_CPPN, zoomOf } from '../src/playgrounds/cppn-params';
import { NeighbourTable } from '../src/playgrounds/embeddings';
import { kindOf } from '../src/playgrounds/kinds';
import { playgroundsFor } from '../src/playgrounds/registry';
import { parseValues } from '../src/playgrounds/tensors';
import { nearestNeighbours, parseWords, pca2 } from '../src/playgrounds/vectors';
import type { Session } from '../src/session';

afterEach(cleanup);

describe('sign-in', () => {
  it('a refused key shows why, and the form stays usable', async () => {
    const tried: string[] = [];
    const refuse = async (key: string) => {
      tried.push(key);
      throw new MaasApiError(401, 'unauthorized', 'the key is not valid');
    };
    render(<SignIn onSignIn={refuse} notice={null} />);
    fireEvent.change(screen.getByLabelText('API key'), { target: { value: '  wrong ' } });
    await act(async () => {
      fireEvent.submit(screen.getByRole('button', { name: 'Sign in' }));
    });
    expect(tried).toEqual(['wrong']);
    expect(screen.getByRole('alert').textContent).toBe(
      'The key was not accepted (wrong, revoked or expired): the key is not valid',
    );
    expect((screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('a notice from an ended session is shown before anything is typed', () => {
    render(<SignIn onSignIn={async () => {}} notice="Your session ended: revoked" />);
    expect(screen.getByRole('alert').textContent).toBe('Your session ended: revoked');
  });
});

describe('error messages', () => {
  it('name the cause: unreachable, forbidden, rate limited with its wait', () => {
    expect(explainError(new MaasApiError(0, 'unreachable', 'x'))).toContain('Cannot reach');
    expect(explainError(new MaasApiError(403, 'forbidden', 'needs manage'))).toBe(
      "Your key's scopes do not allow this: needs manage",
    );
    expect(explainError(new MaasApiError(429, 'rate_limited', 'slow down', 12))).toBe(
      'Too many requests: slow down (try again in 12 s)',
    );
    expect(explainError(new MaasApiError(404, 'not_found', "model 'x' not found"))).toBe(
      "model 'x' not found (HTTP 404, not_found)",
    );
  });
});

describe('explanation view', () => {
  it('sorts the probabilities, shows the heat map and colours tokens by their score', () => {
    render(
      <ExplanationView
        e={{
          kind: 'text',
          label: 'spam',
          predicted: 'spam',
          probabilities: { ham: 0.2, spam: 0.8 },
          heatmap_png: 'iVBORw0KGgo=',
          tokens: [
            { token: 'free', score: 1 },
            { token: 'the', score: 0.1 },
          ],
        }}
      />,
    );
    const labels = [...document.querySelectorAll('.bar-label')].map((e) => e.textContent);
    expect(labels).toEqual(['spam', 'ham']);
    expect(screen.getByAltText('saliency heat map for spam').getAttribute('src')).toBe(
      'data:image/png;base64,iVBORw0KGgo=',
    );
    const spans = [...document.querySelectorAll('.tokens span')];
    expect(spans.map((s) => s.className)).toEqual(['heat-4', 'heat-0']);
  });
});

describe('chat request', () => {
  const params = {
    system: '',
    prompt: 'hi',
    temperature: 0.5,
    top_p: 0.9,
    max_tokens: 20,
    seed: '',
    stop: 'x,,y',
  };
  it('leaves out an empty system prompt and seed, splits stops', () => {
    expect(buildChatRequest('m', params)).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.5,
      top_p: 0.9,
      max_tokens: 20,
      stop: ['x', 'y'],
    });
    expect(buildChatRequest('m', { ...params, system: 'be brief', seed: '7' })).toMatchObject({
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      seed: 7,
    });
  });

  it('as curl (quotes escaped) and as openai code', () => {
    const req = buildChatRequest('m', { ...params, prompt: "it's" });
    const curl = chatCurl('http://h:1', req);
    expect(curl).toContain('curl -N http://h:1/v1/chat/completions');
    expect(curl).toContain(`"content": "it'\\''s"`);
    const code = chatOpenAI('http://h:1', req);
    expect(code).toContain("baseURL: 'http://h:1/v1'");
    expect(code).toContain('  temperature: 0.5,\n');
    expect(code).toContain('model: "m"');
  });
});

describe('loss chart columns', () => {
  const ev = (id: number, event: string, data: Record<string, unknown>): TrainingEvent => ({
    id,
    event,
    data,
  });
  it('training loss at progress steps, validation loss at epoch ends, other events skipped', () => {
    const cols = lossColumns([
      ev(1, 'status', { status: 'running' }),
      ev(2, 'progress', { step: 5, loss: 0.9 }),
      ev(3, 'progress', { step: 10, loss: 0.7 }),
      ev(4, 'epoch', { step: 10, validation: { loss: 0.75 } }),
      ev(5, 'checkpoint', { step: 10 }),
    ]);
    expect(cols).toEqual([
      [5, 10, 10],
      [0.9, 0.7, null],
      [null, null, 0.75],
    ]);
  });
});

describe('usage chart columns', () => {
  it('days in order as Unix seconds, requests and errors; rows without a day left out', () => {
    const row = (day: string | undefined, requests: number, errors: number) => ({
      day,
      requests,
      errors,
      units: requests,
      latencyMsTotal: 0,
    });
    expect(dayColumns([row('2026-12-02', 5, 1), row(undefined, 9, 9), row('2026-12-01', 3, 0)])).toEqual([
      [Date.UTC(2026, 11, 1) / 1000, Date.UTC(2026, 11, 2) / 1000],
      [3, 5],
      [0, 1],
    ]);
  });
});

describe('parsers and tables', () => {
  it('tensor values: numbers, booleans, and a clear error for text', () => {
    expect(parseValues('1, 2.5\n-3', 'FP32')).toEqual([1, 2.5, -3]);
    expect(parseValues('true 0 1', 'BOOL')).toEqual([true, false, true]);
    expect(() => parseValues('1, abc', 'FP32')).toThrow("'abc' is not a number");
  });

  it('hyperparameters by their kind', () => {
    expect(
      parseHyperparameter({ kind: 'ints', min: 1, max: 9, maxLength: 4, default: [], doc: '' }, '16, 8'),
    ).toEqual([16, 8]);
    expect(parseHyperparameter({ kind: 'number', min: 0, max: 1, default: 0, doc: '' }, '0.01')).toBe(0.01);
    expect(parseHyperparameter({ kind: 'choice', choices: ['a'], default: 'a', doc: '' }, 'a')).toBe('a');
  });

  it('playgrounds: only those the kind can use, the best first', () => {
    expect(playgroundsFor('text-generation')).toEqual(['chat', 'completion', 'tensors']);
    expect(playgroundsFor('cppn')).toEqual(['cppn', 'image', 'tensors']);
    // An uploaded graph of unknown kind: tensors (and explain), never chat or images.
    expect(playgroundsFor('tensor')).toEqual(['tensors', 'classify']);
  });

  it("a model's kind: its family first, then its label, then its metadata's task", () => {
    const model = (task: string | null, metadata: Record<string, unknown>) => ({
      task,
      versions: [
        {
          model: 'm',
          version: 1,
          digest: 'sha256:0',
          sizeBytes: 1,
          signature: { inputs: [], outputs: [] },
          metadata,
          createdAt: '',
        },
      ],
    });
    expect(kindOf(model(null, { family: 'word2vec' }))).toBe('embeddings');
    expect(kindOf(model('text-generation', { family: 'cppn' }))).toBe('cppn');
    expect(kindOf(model('text-generation', { family: 'my-own' }))).toBe('text-generation');
    expect(kindOf(model(null, { task: 'classification' }))).toBe('classification');
    expect(kindOf(model(null, {}))).toBe('tensor');
    expect(kindOf({ task: null, versions: [] })).toBe('tensor');
  });

  it('limits: empty fields are no limit, the rest numbers; described in words', () => {
    expect(limitsFrom({ requestsPerMinute: ' 60 ', monthlyUnits: '', weight: '3' }, TENANT_LIMITS)).toEqual({
      requestsPerMinute: 60,
      weight: 3,
    });
    // A key form has no weight field: a stale value is not sent.
    expect(limitsFrom({ weight: '3' }, KEY_LIMITS)).toEqual({});
    expect(describeLimits({ requestsPerMinute: 60, concurrency: 2 })).toBe(
      '60 requests / minute · 2 concurrency',
    );
    expect(describeLimits({})).toBe('none');
  });

  it('dataset names from file names', () => {
    expect(datasetNameOf('iris.csv')).toBe('iris');
    expect(datasetNameOf('my photos.tar.gz')).toBe('my-photos');
    expect(datasetNameOf('_x.jsonl')).toBe('x');
  });
});

describe('embeddings: neighbours and the PCA projection', () => {
  it('neighbours by cosine similarity, most similar first, never the word itself', () => {
    const near = nearestNeighbours(
      [
        [1, 0],
        [0.9, 0.1],
        [0, 1],
        [-1, 0],
      ],
      2,
    );
    expect(near[0].map((n) => n.index)).toEqual([1, 2]);
    expect(near[0][0].similarity).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 10);
    expect(near[3].map((n) => n.index)).toEqual([2, 1]);
  });

  it('points on a line in 5-D project onto the first component, which explains all the variance', () => {
    const dir = [1, 2, 0, -2, 1];
    const ts = [-2, -1, 0, 1, 3];
    const vectors = ts.map((t) => dir.map((d) => 4 + t * d));
    const p = pca2(vectors);
    expect(p.explained[0]).toBeCloseTo(1, 6);
    expect(p.explained[1]).toBeCloseTo(0, 6);
    // Distances along the line are kept (|dir| = sqrt(10)), up to the component's sign.
    const xs = p.points.map(([x]) => x);
    const mean = ts.reduce((a, b) => a + b) / ts.length;
    const sign = Math.sign(xs[4] - xs[0]);
    ts.forEach((t, i) => {
      expect(xs[i] * sign).toBeCloseTo((t - mean) * Math.sqrt(10), 6);
    });
    for (const [, y] of p.points) expect(Math.abs(y)).toBeLessThan(1e-6);
  });

  it('a 2-D cloud is only rotated: pairwise distances are the same after projection', () => {
    const cloud = [
      [0, 0],
      [3, 1],
      [1, 2],
      [-2, 1],
      [2, -3],
    ];
    // Embedded in 4-D with a rotation and an offset: the projection must recover the distances.
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const vectors = cloud.map(([x, y]) => [c * x - s * y + 1, 5, s * x + c * y - 2, 0]);
    const p = pca2(vectors);
    const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
    for (let i = 0; i < cloud.length; i++)
      for (let j = 0; j < i; j++)
        expect(dist(p.points[i], p.points[j])).toBeCloseTo(dist(cloud[i], cloud[j]), 6);
    expect(p.explained[0] + p.explained[1]).toBeCloseTo(1, 6);
    expect(p.explained[0]).toBeGreaterThanOrEqual(p.explained[1]);
  });

  it('fewer than two words project to the origin; words are split, trimmed and deduplicated', () => {
    expect(pca2([[1, 2, 3]])).toEqual({ points: [[0, 0]], explained: [0, 0] });
    expect(parseWords('king, queen\n king ,, apple\n')).toEqual(['king', 'queen', 'apple']);
  });

  it('the table lists each word with its neighbours and their similarity', () => {
    const words = ['cat', 'dog', 'car'];
    const near = nearestNeighbours(
      [
        [1, 0.2, 0],
        [0.9, 0.3, 0],
        [0, 0, 1],
      ],
      2,
    );
    render(<NeighbourTable words={words} near={near} />);
    const rows = screen.getByTestId('neighbours').querySelectorAll('tbody tr');
    expect(rows[0].textContent).toBe('catdog 0.99 · car 0.00');
    expect(rows[2].textContent).toBe('carcat 0.00 · dog 0.00');
  });
});

describe('CPPN explorer', () => {
  it('slider positions map to the imagine request, within the server ranges', () => {
    expect(cppnRequest(DEFAULT_CPPN)).toEqual({
      prompt: 'cppn explorer',
      n: 1,
      width: 160,
      height: 160,
      seed: 1,
      style: { palette: 'rgb', zoom: 1, latentScale: 1 },
    });
    const far = cppnRequest({ seed: 7, palette: 'neon', zoomLog: 5, latentScale: 9, size: 64 });
    expect(far.style).toEqual({ palette: 'neon', zoom: 50, latentScale: 5 });
    expect(zoomOf(Math.log10(0.05))).toBe(0.05);
    expect(zoomOf(0.5)).toBe(3.16);
  });

  it('moving a slider redraws with the new value; the latest position wins', async () => {
    const asked: ReturnType<typeof cppnRequest>[] = [];
    let release: () => void = () => {};
    const client = {
      imagine: async (_model: string, body: ReturnType<typeof cppnRequest>) => {
        asked.push(body);
        await new Promise<void>((r) => {
          release = r;
        });
        return ['iVBORw0KGgo='];
      },
    };
    const session = { key: 'k', me: { tenant: 't', key_id: 'k', scopes: ['infer'], limits: {} }, client };
    render(
      <SessionCtx.Provider value={{ session: session as unknown as Session, signOut: () => {} }}>
        <CppnExplorer model="art" detail={{} as ModelDetail} />
      </SessionCtx.Provider>,
    );
    expect(asked.map((b) => b.seed)).toEqual([1]);
    // Three moves while the first picture is drawn: only the last one is asked for next.
    for (const v of ['5', '6', '7'])
      fireEvent.change(screen.getByRole('slider', { name: 'Seed' }), { target: { value: v } });
    fireEvent.change(screen.getByRole('combobox', { name: 'Palette' }), { target: { value: 'warm' } });
    await act(async () => release());
    expect(asked.map((b) => b.seed)).toEqual([1, 7]);
    expect(asked[1].style.palette).toBe('warm');
    await act(async () => release());
    expect(screen.getByTestId('cppn-art').dataset.renders).toBe('2');
    expect(screen.getByRole('img').getAttribute('alt')).toContain('seed 7');
  });
});

describe('training job charts', () => {
  it('metrics: training metrics from progress, validation metrics from epochs, loss left out', () => {
    const e = (id: number, event: string, data: Record<string, unknown>): TrainingEvent => ({
      id,
      event,
      data,
    });
    const { names, columns } = metricColumns([
      e(1, 'progress', { step: 5, totalSteps: 20, loss: 0.9, accuracy: 0.5, stepsPerSecond: 100 }),
      e(2, 'checkpoint', { step: 10 }),
      e(3, 'epoch', { step: 10, epoch: 1, validation: { loss: 0.7, accuracy: 0.75 } }),
      e(4, 'progress', { step: 15, totalSteps: 20, loss: 0.5, accuracy: 0.8 }),
    ]);
    expect(names).toEqual(['training accuracy', 'validation accuracy']);
    expect(columns).toEqual([
      [5, 10, 15],
      [0.5, null, 0.8],
      [null, 0.75, null],
    ]);
  });
});

describe('SDK stream reader', () => {
  it('joins chunks split anywhere and stops at [DONE]', async () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\ndata: {"c":3}\n\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
        c.close();
      },
    });
    const got: unknown[] = [];
    for await (const d of sseData(body)) got.push(d);
    expect(got).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
