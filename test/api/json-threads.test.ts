import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonShape, parseJsonBody } from '../../src/api/json-body';
import { decodeTape, encodeTape, TapeDecoder } from '../../src/api/json-tape';
import {
  defaultJsonThreads,
  inThreadJsonParser,
  type JsonParser,
  JsonThreads,
} from '../../src/api/json-threads';
import { identityModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

const KiB = 1024;
const shape: JsonShape = { maxDepth: 64, maxContainers: 100_000 };

describe('JSON tape: a parsed body handed between threads', () => {
  const docs = [
    '0',
    '"just a string"',
    'null',
    '[]',
    '{}',
    '[true, false, null, -0, 1e308, -1.5e-300, "é\\ud800x", "", [[]], {"": {}}]',
    '{"b": 1, "a": [1, 2, "three"], "2": "integer keys first", "1": null, "nested": {"x": [[1, 2], [3, 4]]}}',
    JSON.stringify({ rows: Array.from({ length: 5000 }, (_, i) => ({ id: i, v: [i, i / 3, -i] })) }),
    JSON.stringify(Array.from({ length: 10_000 }, (_, i) => (i % 3 === 0 ? `s${i}` : i * 0.25))),
  ];

  it.each(docs.map((d) => [d.slice(0, 40), d]))(
    'rebuilds %s exactly as JSON.parse builds it',
    async (_, text) => {
      const expected = JSON.parse(text);
      const rebuilt = await decodeTape(encodeTape(JSON.parse(text)), 1);
      expect(rebuilt).toStrictEqual(expected);
      expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(expected));
    },
  );

  it('keeps -0, and `__proto__` as an own key rather than the prototype', async () => {
    const rebuilt = (await decodeTape(
      encodeTape(JSON.parse('{"__proto__": {"polluted": 1}, "z": [-0]}')),
      1,
    )) as {
      z: number[];
    };
    expect(Object.getPrototypeOf(rebuilt)).toBe(Object.prototype);
    expect(Object.keys(rebuilt)).toEqual(['__proto__', 'z']);
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
    expect(Object.is(rebuilt.z[0], -0)).toBe(true);
  });

  it('gives arrays of numbers under `typedUnder` as Float64Arrays, short ones and the rest as plain arrays', async () => {
    const long = Array.from({ length: 100 }, (_, i) => i - 50.5);
    const doc = { data: long, other: long, nested: { data: [long, [1, 2]] } };
    const rebuilt = (await decodeTape(encodeTape(doc), 1, { typedUnder: 'data' })) as {
      data: unknown;
      other: unknown;
      nested: { data: unknown[] };
    };
    expect(rebuilt.data).toBeInstanceOf(Float64Array);
    expect(Array.from(rebuilt.data as Float64Array)).toEqual(long);
    expect(Array.isArray(rebuilt.other)).toBe(true);
    expect(rebuilt.nested.data[0]).toBeInstanceOf(Float64Array);
    expect(rebuilt.nested.data[1]).toEqual([1, 2]);
  });

  it('gives the array items of the top-level list under `unbuiltArraysIn` empty, and everything else as it was', async () => {
    // Enough values to skip that the skipping itself spans slices.
    const row = Array.from({ length: 10_000 }, (_, i) => ({ i, s: 'x' }));
    const mixed = [
      { k: 'v' },
      [1, 'a', { deep: [2, 3] }, [[4]]],
      null,
      Array.from({ length: 100 }, (_, i) => i),
    ];
    const doc = {
      first: [[1, 2]],
      inputs: [{ a: 1, b: [1, 2] }, row, 'text', mixed, 5, [], true],
      after: { inputs: [[7, 8]], s: 'tail' },
    };
    const decoder = new TapeDecoder(encodeTape(doc), { unbuiltArraysIn: 'inputs' });
    let slices = 1;
    while (!decoder.run(0)) slices++;
    expect(slices).toBeGreaterThan(1);
    expect(decoder.value).toStrictEqual({
      first: [[1, 2]],
      inputs: [{ a: 1, b: [1, 2] }, [], 'text', [], 5, [], true],
      after: { inputs: [[7, 8]], s: 'tail' },
    });
    // A list of numbers only under the key is built as it is (the handler reads its length).
    expect(await decodeTape(encodeTape({ inputs: [1, 2] }), 1, { unbuiltArraysIn: 'inputs' })).toStrictEqual({
      inputs: [1, 2],
    });
  });

  it('rebuilds a large value in slices: with no time left it stops, and resumes where it stopped', () => {
    const doc = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    const decoder = new TapeDecoder(encodeTape(doc));
    let slices = 1;
    while (!decoder.run(0)) slices++;
    expect(slices).toBeGreaterThan(1);
    expect(decoder.value).toStrictEqual(doc);
  });
});

/** A port that forwards to whichever parser the test sets (to swap in a failing one). */
function switchable(first: JsonParser): { port: JsonParser; use(p: JsonParser): void } {
  let current = first;
  return {
    port: { parse: (...args) => current.parse(...args), close: async () => current.close() },
    use: (p) => {
      current = p;
    },
  };
}

describe('large JSON bodies on data routes are parsed in a worker thread', () => {
  let s: TestServer;
  const threads = new JsonThreads();
  const parser = switchable(threads);
  beforeAll(async () => {
    s = await testServer({}, { jsonParser: parser.port });
    for (const dtype of ['float64', 'int8'] as const) {
      const u = await upload(s.app, `id-${dtype}`, identityModel(dtype));
      expect(u.statusCode, JSON.stringify(u.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await s.close();
    await threads.close();
  });

  const infer = (model: string, payload: string) =>
    s.app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload,
    });
  const values = Array.from({ length: 40_000 }, (_, i) => (i % 7) * 0.37 - i / 3);

  it('a v2 infer body over the threshold goes to a thread and gives the answer a small body gives in place', async () => {
    const big = JSON.stringify({
      inputs: [{ name: 'x', shape: [values.length], datatype: 'FP64', data: values }],
    });
    expect(big.length).toBeGreaterThan(defaultJsonThreads.offThreadBytes);
    const before = { ...threads.counts };
    const res = await infer('id-float64', big);
    expect(res.statusCode, res.body).toBe(200);
    expect(threads.counts.offThread).toBe(before.offThread + 1);
    expect(res.json().outputs[0]).toEqual({
      name: 'y',
      datatype: 'FP64',
      shape: [values.length],
      data: values,
    });

    const small = values.slice(0, 10);
    const res2 = await infer(
      'id-float64',
      JSON.stringify({ inputs: [{ name: 'x', shape: [10], datatype: 'FP64', data: small }] }),
    );
    expect(threads.counts.inThread).toBe(before.inThread + 1);
    expect(res2.json().outputs[0].data).toEqual(small);
  });

  it('nested rows and the per-element errors are the same as in place', async () => {
    const rows = [values.slice(0, 20_000), values.slice(20_000)];
    const nested = await infer(
      'id-float64',
      JSON.stringify({ inputs: [{ name: 'x', shape: [2, 20_000], datatype: 'FP64', data: rows }] }),
    );
    expect(nested.statusCode, nested.body).toBe(400); // the model takes one dimension: the model's own error
    const ints = Array.from({ length: 100_000 }, (_, i) => (i === 70_000 ? 128 : i % 100));
    const body = JSON.stringify({
      inputs: [{ name: 'x', shape: [ints.length], datatype: 'INT8', data: ints }],
    });
    const before = threads.counts.offThread;
    const res = await infer('id-int8', body);
    expect(threads.counts.offThread).toBe(before + 1);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('inputs[0].data[70000] must be an integer in [-128, 127]');
    const wrongCount = await infer(
      'id-int8',
      JSON.stringify({
        inputs: [
          { name: 'x', shape: [3], datatype: 'INT8', data: [ints.slice(0, 50_000), ints.slice(50_000)] },
        ],
      }),
    );
    expect(wrongCount.json().error).toBe('inputs[0].data has 100000 values, shape [3] needs 3');
  });

  it('a syntax error deep in a large body gets the message the in-place parser gives', async () => {
    const text = `{"inputs": [${'1,'.repeat(200 * KiB)}1,]}`;
    const expected = (() => {
      try {
        parseJsonBody(Buffer.from(text), shape, true);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('the body parsed');
    })();
    expect(expected).toMatch(/line 1, column \d+ \(offset \d+\)/);
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/nope/predict',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: text,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe(expected);
  });

  it('native predict gets plain arrays: a list too long is refused with its usual message', async () => {
    const before = threads.counts.offThread;
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/nope/predict',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ inputs: Array.from({ length: 150_000 }, (_, i) => i) }),
    });
    expect(threads.counts.offThread).toBe(before + 1);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe('inputs must be a list of 1 to 1024 items');
  });

  it('native predict: a huge array row is not built, and the answers are those of the in-place parser', async () => {
    const row = `[${'0,'.repeat(200_000)}0]`;
    const cases = [
      { model: 'nope', payload: `{"inputs":[${row}]}` },
      { model: 'id-float64', payload: `{"inputs":[{"a":1},${row}]}` },
      { model: 'id-float64', payload: `{"inputs":[${row}],"extra":1}` },
    ];
    const predict = (model: string, payload: string) =>
      s.app.inject({
        method: 'POST',
        url: `/api/v1/models/${model}/predict`,
        headers: { ...auth, 'content-type': 'application/json' },
        payload,
      });
    for (const c of cases) {
      const before = threads.counts.offThread;
      const threaded = await predict(c.model, c.payload);
      expect(threads.counts.offThread).toBe(before + 1);
      parser.use(inThreadJsonParser);
      try {
        const inPlace = await predict(c.model, c.payload);
        expect(threaded.statusCode).toBeGreaterThanOrEqual(400);
        expect([threaded.statusCode, threaded.json()]).toEqual([inPlace.statusCode, inPlace.json()]);
      } finally {
        parser.use(threads);
      }
    }
  });

  it('a thread that runs out of memory fails only its request (413, no stack), and the server stays ready', async () => {
    const starved = new JsonThreads({ ...defaultJsonThreads, memoryMb: 16 });
    parser.use(starved);
    try {
      const ints = Array.from({ length: 3_000_000 }, (_, i) => i % 100);
      const res = await infer(
        'id-int8',
        JSON.stringify({ inputs: [{ name: 'x', shape: [ints.length], datatype: 'INT8', data: ints }] }),
      );
      expect([413, 503]).toContain(res.statusCode);
      expect(res.json().error).toMatch(/needs more than 16 MiB of memory to parse|parser thread stopped/);
      expect(res.body).not.toMatch(/at .*\.ts|node:internal/);
      expect(starved.counts.crashed).toBe(1);
      expect((await s.app.inject({ url: '/readyz' })).statusCode).toBe(200);
      const small = await infer(
        'id-int8',
        JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'INT8', data: [1, 2] }] }),
      );
      expect(small.statusCode, small.body).toBe(200);
    } finally {
      parser.use(threads);
      await starved.close();
    }
    const again = await infer(
      'id-float64',
      JSON.stringify({ inputs: [{ name: 'x', shape: [values.length], datatype: 'FP64', data: values }] }),
    );
    expect(again.statusCode).toBe(200);
  });
});

describe('a parser thread that cannot start', () => {
  /** Threads that fail to start, as `new Worker` does under memory or thread pressure. */
  class Unstartable extends JsonThreads {
    protected override spawn(): never {
      throw Object.assign(new Error('Worker initialization failure'), { code: 'ERR_WORKER_INIT_FAILED' });
    }
  }

  it('gives its place back: later bodies fail too (none waits for ever), with one thread allowed', async () => {
    const threads = new Unstartable({ ...defaultJsonThreads, maxWorkers: 1, offThreadBytes: 8 });
    const body = Buffer.from(JSON.stringify({ a: [1, 2, 3] }));
    for (let i = 0; i < 3; i++)
      await expect(threads.parse(body, shape, { depthChecked: false })).rejects.toThrow(/initialization/);
    await threads.close();
  });
});

describe("one tenant's large bodies", () => {
  it('are capped at maxPerSender at once (429), while another tenant and a later body still go through', async () => {
    const threads = new JsonThreads({
      ...defaultJsonThreads,
      maxWorkers: 1,
      maxPerSender: 1,
      offThreadBytes: 8,
    });
    const body = () => Buffer.from(JSON.stringify({ a: [1, 2, 3] }));
    try {
      const first = threads.parse(body(), shape, { depthChecked: false, sender: 't1' });
      await expect(threads.parse(body(), shape, { depthChecked: false, sender: 't1' })).rejects.toMatchObject(
        {
          code: 'rate_limited',
        },
      );
      const other = threads.parse(body(), shape, { depthChecked: false, sender: 't2' });
      expect(await first).toEqual({ a: [1, 2, 3] });
      expect(await other).toEqual({ a: [1, 2, 3] });
      // The place is given back once the body is answered.
      expect(await threads.parse(body(), shape, { depthChecked: false, sender: 't1' })).toEqual({
        a: [1, 2, 3],
      });
    } finally {
      await threads.close();
    }
  });
});
