/**
 * What a user sees: N official `openai` clients stream chat completions from one model of a
 * running maas server at once, against one client alone. Rounds alternate 1 and N streams (after
 * a warm-up of each); every answer is `--new-tokens` long (vLLM's `ignore_eos`), greedy.
 *
 * Two rates per round: end to end (all chunks ÷ the round's wall time, prefill included) and
 * steady decode (chunks between the moment the last stream got its first chunk and the moment
 * the first stream ended, while all N were decoding, ÷ that window). Run against a server you
 * started and a model you pushed:
 *
 *   MAAS_DATA_DIR=/tmp/d MAAS_ZOO=off npm start &
 *   node --import tsx -e "import {benchFolder} from './bench/llm/folder.ts'; await benchFolder(console.log)"
 *   MAAS_DATA_DIR=/tmp/d ./bin/maas.js models push llama bench/llm/.model/llama-110m
 *   MAAS_KEY=$(cat /tmp/d/admin.key) node --import tsx bench/llm/openai-clients.ts --model llama
 */
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'llama' },
    url: { type: 'string', default: process.env.MAAS_URL ?? 'http://127.0.0.1:8080' },
    streams: { type: 'string', default: '8' },
    'new-tokens': { type: 'string', default: '128' },
    rounds: { type: 'string', default: '3' },
  },
});
const streams = Number(args.streams);
const newTokens = Number(args['new-tokens']);
const apiKey = process.env.MAAS_KEY ?? '';
if (!apiKey) throw new Error('set MAAS_KEY to an API key of the server');

/** Arrival times (ms) of one stream's content chunks. */
async function stream(client: OpenAI, i: number): Promise<number[]> {
  const params = {
    model: args.model,
    stream: true,
    temperature: 0,
    max_tokens: newTokens,
    ignore_eos: true,
    messages: [{ role: 'user', content: `Tell me a long story about the number ${i} and the sea.` }],
  } as OpenAI.ChatCompletionCreateParamsStreaming;
  const times: number[] = [];
  for await (const chunk of await client.chat.completions.create(params))
    if (chunk.choices[0]?.delta?.content) times.push(performance.now());
  return times;
}

async function round(n: number): Promise<{ endToEnd: number; steady: number }> {
  const clients = Array.from({ length: n }, () => new OpenAI({ baseURL: `${args.url}/v1`, apiKey }));
  const start = performance.now();
  const all = await Promise.all(clients.map((c, i) => stream(c, i)));
  const seconds = (performance.now() - start) / 1000;
  const chunks = all.reduce((s, t) => s + t.length, 0);
  const from = Math.max(...all.map((t) => t[0]));
  const to = Math.min(...all.map((t) => t[t.length - 1]));
  const inWindow = all.reduce((s, t) => s + t.filter((x) => x > from && x <= to).length, 0);
  return { endToEnd: chunks / seconds, steady: inWindow / ((to - from) / 1000) };
}

await round(1);
await round(streams);
for (let r = 1; r <= Number(args.rounds); r++) {
  const one = await round(1);
  const many = await round(streams);
  console.log(
    `round ${r}: 1 stream ${one.endToEnd.toFixed(1)} tok/s end to end (steady ${one.steady.toFixed(1)}); ` +
      `${streams} streams ${many.endToEnd.toFixed(1)} (steady ${many.steady.toFixed(1)}); ` +
      `× one: end to end ${(many.endToEnd / one.endToEnd).toFixed(2)}×, steady ${(many.steady / one.steady).toFixed(2)}×`,
  );
}
