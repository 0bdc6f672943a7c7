// @vitest-environment happy-dom
/**
 * The console's non-trivial parts, rendered in happy-dom: the sign-in's error line, the
 * explanation view, the chat request and its code, the loss chart's columns, the playground
 * order, the tensor and hyperparameter parsers, and the SDK's SSE reader.
 */
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { MaasApiError } from '../../src/sdk/client';
import { sseData } from '../../src/sdk/console';
import type { TrainingEvent } from '../../src/sdk/training';
import { explainError } from '../src/errors';
import { lossColumns } from '../src/pages/job';
import { SignIn } from '../src/pages/signin';
import { parseHyperparameter } from '../src/pages/training';
import { dayColumns } from '../src/pages/usage';
import { buildChatRequest } from '../src/playgrounds/chat';
import { ExplanationView } from '../src/playgrounds/classify';
import { chatCurl, chatOpenAI } from '../src/playgrounds/code';
import { playgroundsFor } from '../src/playgrounds/registry';
import { parseValues } from '../src/playgrounds/tensors';

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

  it('playgrounds: the kind picks the first, every other one follows', () => {
    expect(playgroundsFor('text-generation')).toEqual(['chat', 'tensors', 'image', 'classify']);
    expect(playgroundsFor(null)).toEqual(['tensors', 'classify', 'chat', 'image']);
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
