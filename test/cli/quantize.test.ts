/**
 * `maas models quantize` end to end against a real server socket: a pushed Llama-layout folder
 * becomes an int4 version, the command prints the rewrite and its quality cost, the new version
 * answers a chat; a wrong --to is a usage error before any request, a model with nothing to
 * quantise the server's 400 message.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import { encodeModel } from '../../src/engine/onnx/encode';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { REPO_ROOT } from '../helpers/serve';
import { ADMIN_KEY, auth, type TestServer, testServer, upload } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

function maas(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

describe('maas models quantize', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = await tempDir('maas-cli-quantize-');
    // Each quantisation uploads a new version: its load check gets the default minute under load.
    s = await testServer({ validateTimeoutMs: 120_000 });
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (s.app.server.address() as AddressInfo).port;
    env = { MAAS_URL: `http://127.0.0.1:${port}`, MAAS_KEY: ADMIN_KEY };
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  it('pushes a folder, quantises it to int4, prints the cost; the new version chats', async () => {
    const f = await writeTinyLlamaFolder(join(root.dir, 'tiny'));
    const push = await maas(['models', 'push', 'llama', f.dir], env);
    expect(push.code, push.err).toBe(0);
    const q = await maas(
      ['models', 'quantize', 'llama', '--to', 'int4', '--version', '1', '--keep-head'],
      env,
    );
    expect(q.code, q.err).toBe(0);
    expect(q.out).toMatch(
      /^quantized llama version 1 → version 2 \(int4: \d+ MatMul nodes, \d+ parameters, weights [0-9.]+ MB → [0-9.]+ MB\)/,
    );
    expect(q.out).toContain('  graph onnx/model_q4.onnx');
    expect(q.out).toMatch(/kept float: .* \(the head \(keepHead\)\)/);
    expect(q.out).toMatch(
      /max \|logit error\| [0-9.]+ \(float logits span [0-9.]+\), top-token agreement [0-9.]+ % over \d+ positions/,
    );

    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model: 'llama', messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 4 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const model = await s.app.inject({ url: '/api/v1/models/llama', headers: auth });
    const versions = (model.json() as { versions: { metadata: { quantization: string } }[] }).versions;
    expect(versions.map((v) => v.metadata.quantization)).toEqual(['none', 'int4 (MatMulNBits)']);
  }, 180_000);

  it('a wrong --to is a usage error; nothing to quantise is the server 400', async () => {
    const bad = await maas(['models', 'quantize', 'llama', '--to', 'int3'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--to must be int8 or int4/);

    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 2]);
    g.output('y', g.op('Add', [x, g.param({ name: 'b', value: tensorFrom('float32', [2], [1, 2]) })]));
    expect((await upload(s.app, 'adder', encodeModel(g))).statusCode).toBe(201);
    const none = await maas(['models', 'quantize', 'adder', '--to', 'int8'], env);
    expect(none.code).not.toBe(0);
    expect(none.err).toMatch(/nothing to quantise/);
  }, 120_000);
});
