/**
 * The KServe v2 binary tensor extension over a real socket: a JSON header of
 * Inference-Header-Content-Length bytes followed by raw little-endian tensor bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSubModel, identityModel, linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

/** A request body in the binary format: the header JSON, then each chunk. */
function binaryBody(header: unknown, ...chunks: ArrayBufferView[]): { body: Buffer; jsonLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  const parts = chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return { body: Buffer.concat([json, ...parts]), jsonLength: json.length };
}

/** Split an answer in the binary format into its JSON header and the bytes after it. */
interface AnswerHeader {
  outputs: Array<{ name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: unknown }>;
}

function splitAnswer(res: { headers: Headers; bytes: Buffer }): { json: AnswerHeader; tail: Buffer } {
  const n = Number(res.headers.get('inference-header-content-length'));
  return { json: JSON.parse(res.bytes.subarray(0, n).toString()), tail: res.bytes.subarray(n) };
}

describe('KServe v2 binary tensors over HTTP', () => {
  let s: TestServer;
  let base: string;
  beforeAll(async () => {
    s = await testServer();
    const uploads = await Promise.all([
      upload(s.app, 'lin', linearModel(4, 3).bytes),
      upload(s.app, 'addsub', addSubModel()),
      upload(s.app, 'id-bool', identityModel('bool')),
      upload(s.app, 'id-int64', identityModel('int64')),
    ]);
    for (const u of uploads) expect(u.statusCode, JSON.stringify(u.body)).toBe(201);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = s.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await s.close();
  });

  async function post(model: string, body: Buffer | string, headers: Record<string, string>) {
    const res = await fetch(`${base}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { ...auth, ...headers },
      body,
    });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }
  const postJson = (model: string, payload: unknown) =>
    post(model, JSON.stringify(payload), { 'content-type': 'application/json' });
  const postBinary = (model: string, req: { body: Buffer; jsonLength: number }, contentType?: string) =>
    post(model, req.body, {
      'inference-header-content-length': String(req.jsonLength),
      ...(contentType ? { 'content-type': contentType } : {}),
    });

  const x = new Float32Array([0.5, -1.25, 3, 0.125, 2, 4, -8, 1e-3]);

  it('answers a binary request exactly as the same JSON request, with and without Content-Type', async () => {
    const json = await postJson('lin', {
      inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [...x] }],
    });
    expect(json.status, json.bytes.toString()).toBe(200);
    const req = binaryBody(
      { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] },
      x,
    );
    // Triton's clients send no Content-Type; others send application/octet-stream.
    for (const type of [undefined, 'application/octet-stream']) {
      const bin = await postBinary('lin', req, type);
      expect(bin.status, bin.bytes.toString()).toBe(200);
      expect(bin.headers.get('content-type')).toMatch(/application\/json/);
      expect(JSON.parse(bin.bytes.toString())).toEqual(JSON.parse(json.bytes.toString()));
    }
  });

  it('returns outputs as binary when asked, per output or for all, byte-equal to the JSON values', async () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([10, 20, 30, 40]);
    const inputs = [
      { name: 'a', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
      // Mixed: one input binary, the other JSON.
      { name: 'b', shape: [2, 2], datatype: 'FP32', data: [...b] },
    ];
    const all = await postBinary(
      'addsub',
      binaryBody({ inputs, parameters: { binary_data_output: true } }, a),
    );
    expect(all.status, all.bytes.toString()).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/octet-stream');
    const { json, tail } = splitAnswer(all);
    expect(json.outputs).toEqual([
      { name: 'sum', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
      { name: 'diff', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
    ]);
    expect(tail.length).toBe(32);
    const floats = new Float32Array(new Uint8Array(tail).buffer);
    expect([...floats]).toEqual([11, 22, 33, 44, -9, -18, -27, -36]);

    // Only `diff` binary; `sum` stays JSON.
    const some = await postBinary(
      'addsub',
      binaryBody(
        { inputs, outputs: [{ name: 'sum' }, { name: 'diff', parameters: { binary_data: true } }] },
        a,
      ),
    );
    const mixed = splitAnswer(some);
    expect(mixed.json.outputs[0]).toEqual({
      name: 'sum',
      datatype: 'FP32',
      shape: [2, 2],
      data: [11, 22, 33, 44],
    });
    expect(mixed.json.outputs[1].parameters).toEqual({ binary_data_size: 16 });
    expect([...new Float32Array(new Uint8Array(mixed.tail).buffer)]).toEqual([-9, -18, -27, -36]);
  });

  it('answers binary outputs to a plain JSON request, and carries BOOL and INT64 as raw bytes', async () => {
    const res = await postJson('id-int64', {
      inputs: [{ name: 'x', shape: [3], datatype: 'INT64', data: [-5, 2 ** 40, 7] }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    });
    expect(res.status, res.bytes.toString()).toBe(200);
    const { tail } = splitAnswer(res);
    expect([...new BigInt64Array(new Uint8Array(tail).buffer)]).toEqual([-5n, 2n ** 40n, 7n]);

    const bools = new Uint8Array([1, 0, 1]);
    const req = binaryBody(
      {
        inputs: [{ name: 'x', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } }],
        outputs: [{ name: 'y' }],
      },
      bools,
    );
    const back = await postBinary('id-bool', req);
    expect(JSON.parse(back.bytes.toString()).outputs[0].data).toEqual([true, false, true]);
  });

  const one = (size: number, extra: Record<string, unknown> = {}) => ({
    inputs: [
      { name: 'x', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: size }, ...extra },
    ],
  });

  it.each([
    [
      'a size that disagrees with shape × dtype',
      binaryBody(one(28), x),
      /binary_data_size is 28 .* needs 32 bytes/,
    ],
    [
      'fewer bytes than the sizes claim',
      binaryBody(one(32), x.subarray(0, 4)),
      /needs 32 bytes .* only 16 are left/,
    ],
    ['bytes nobody claimed', binaryBody(one(32), x, new Float32Array(1)), /4 bytes after the binary inputs/],
    ['both data and binary_data_size', binaryBody(one(32, { data: [...x] }), x), /both data and/],
    ['a non-integer size', binaryBody(one(1.5), x), /must be a non-negative integer/],
    [
      'a BOOL byte other than 0 or 1',
      binaryBody(
        { inputs: [{ name: 'x', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } }] },
        new Uint8Array([1, 7]),
      ),
      /BOOL element 1 is 7/,
    ],
  ])('refuses %s with 400', async (_label, req, message) => {
    const res = await postBinary(_label.startsWith('a BOOL') ? 'id-bool' : 'lin', req);
    expect(res.status, res.bytes.toString()).toBe(400);
    expect(JSON.parse(res.bytes.toString())).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses a header length past the body, a malformed header, and binary sizes without the header', async () => {
    const req = binaryBody(one(32), x);
    const past = await post('lin', req.body, {
      'inference-header-content-length': String(req.body.length + 1),
    });
    expect(past.status).toBe(400);
    expect(JSON.parse(past.bytes.toString()).error).toMatch(/is \d+ but the body has only \d+ bytes/);

    const junk = await post('lin', req.body, { 'inference-header-content-length': '12abc' });
    expect(junk.status).toBe(400);
    expect(JSON.parse(junk.bytes.toString()).error).toMatch(/whole number of bytes/);

    const noHeader = await postJson('lin', one(32));
    expect(noHeader.status).toBe(400);
    expect(JSON.parse(noHeader.bytes.toString()).error).toMatch(/no inference-header-content-length header/);

    const raw = await post('lin', req.body, { 'content-type': 'application/octet-stream' });
    expect(raw.status).toBe(415);
    expect(JSON.parse(raw.bytes.toString()).error).toMatch(
      /Inference-Header-Content-Length|inference-header/,
    );

    const badFlag = await postJson('lin', {
      inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [...x] }],
      parameters: { binary_data_output: 'yes' },
    });
    expect(badFlag.status).toBe(400);
  });

  it('lists the extension in the server metadata', async () => {
    const res = await fetch(`${base}/v2`, { headers: auth });
    expect(((await res.json()) as { extensions: string[] }).extensions).toEqual(['binary_tensor_data']);
  });
});
