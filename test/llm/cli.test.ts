/**
 * The terminal side, as a user runs it: `maas models push NAME ./folder` packs and streams the
 * folder; `maas chat NAME` with piped stdin streams answers, keeps the history (its second answer
 * equals the API's answer to the same three turns), and takes /system, /reset, /exit.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TinyFolder, writeTinyLlamaFolder } from '../helpers/hf-fixtures';
import { REPO_ROOT } from '../helpers/serve';
import { ADMIN_KEY, auth, type TestServer, testServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

function maas(
  args: string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
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
    child.stdin.end(stdin);
  });
}

describe('maas models push (a folder) and maas chat', () => {
  let s: TestServer;
  let root: Awaited<ReturnType<typeof tempDir>>;
  let llama: TinyFolder;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = await tempDir('maas-cli-llm-');
    llama = await writeTinyLlamaFolder(join(root.dir, 'tiny'));
    s = await testServer();
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (s.app.server.address() as AddressInfo).port;
    env = { MAAS_URL: `http://127.0.0.1:${port}`, MAAS_KEY: ADMIN_KEY };
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    await root?.remove();
  });

  it('pushes a folder, then chats: streamed answers, history kept, /system, /reset, /exit', async () => {
    const push = await maas(['models', 'push', 'llama', llama.dir], env);
    expect(push.code, push.err).toBe(0);
    expect(push.out).toMatch(/pushed llama version 1/);
    expect(push.out).toMatch(/LlamaForCausalLM, context 256 tokens/);

    const input = ['Hello!', 'How are you?', '/system Be brief.', '/reset', 'Hi', '/exit', 'never sent'].join(
      '\n',
    );
    const chat = await maas(['chat', 'llama', '--temperature', '0', '--max-tokens', '6'], env, `${input}\n`);
    expect(chat.code, chat.err).toBe(0);
    const answers = [
      ...chat.out.matchAll(/>>> (?:\(.*\)\n>>> )*([\s\S]*?)\n\[(\d+) tokens, ([0-9.]+) tokens\/s\]/g),
    ];
    expect(answers).toHaveLength(3);
    for (const a of answers) expect(Number(a[2])).toBeGreaterThan(0);
    expect(chat.out).toContain('(system message set)');
    expect(chat.out).toContain('(conversation cleared)');

    const ask = async (messages: { role: string; content: string }[]) => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        headers: auth,
        payload: { model: 'llama', messages, temperature: 0, max_tokens: 6 },
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().choices[0].message.content as string;
    };
    const first = await ask([{ role: 'user', content: 'Hello!' }]);
    expect(answers[0][1]).toBe(first);
    // The second turn was sent with the first exchange before it.
    expect(answers[1][1]).toBe(
      await ask([
        { role: 'user', content: 'Hello!' },
        { role: 'assistant', content: first },
        { role: 'user', content: 'How are you?' },
      ]),
    );
    // After /reset only the system message and the new turn.
    expect(answers[2][1]).toBe(
      await ask([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]),
    );
  }, 120_000);
});
