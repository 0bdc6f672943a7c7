/**
 * The official `openai` client talking to a running maas and its zoo, as a new user would: it lists
 * the models, chats with `zoo~gpt` (streaming, with usage), embeds with `zoo~word2vec`, draws with
 * `zoo~image-gen` and `zoo~cppn`, speaks with `tts-1`, and asks `zoo~spam-cnn` through chat. Nothing
 * from maas is imported: only the client, pointed at `$MAAS_URL/v1` with `$MAAS_KEY`.
 *
 *   MAAS_URL=http://127.0.0.1:8080 MAAS_KEY=$(cat data/admin.key) \
 *     node --import tsx examples/openai-client.ts [OUT_DIR]      # images and speech go to OUT_DIR
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';

const url = process.env.MAAS_URL ?? 'http://127.0.0.1:8080';
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: process.env.MAAS_KEY ?? '' });
const out = process.argv[2] ?? 'openai-out';

async function listModels(): Promise<void> {
  const ids: string[] = [];
  for await (const m of client.models.list()) ids.push(`${m.id} (${m.owned_by})`);
  console.log(`models: ${ids.join(', ')}`);
}

async function chatStreaming(): Promise<void> {
  const stream = await client.chat.completions.create({
    model: 'zoo~gpt',
    messages: [{ role: 'user', content: 'Call me Ishmael.' }],
    max_tokens: 40, // the prompt and the reply share the 64-token context
    temperature: 0.7,
    seed: 7,
    stream: true,
    stream_options: { include_usage: true },
  });
  process.stdout.write('chat (zoo~gpt, streamed): ');
  for await (const chunk of stream) {
    process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
    if (chunk.usage) console.log(`\n  usage: ${JSON.stringify(chunk.usage)}`);
  }
}

async function embed(): Promise<void> {
  const input = ['the whale spouted', 'the sperm whale breached', 'a cup of tea'];
  const res = await client.embeddings.create({ model: 'zoo~word2vec', input });
  const [a, b, c] = res.data.map((d) => d.embedding);
  const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
  console.log(
    `embeddings (zoo~word2vec, ${a.length} dims): cos(${input[0]}, ${input[1]}) = ${cos(a, b).toFixed(2)}, ` +
      `cos(${input[0]}, ${input[2]}) = ${cos(a, c).toFixed(2)}; usage ${JSON.stringify(res.usage)}`,
  );
}

async function draw(model: string, prompt: string, size: '256x256' | '28x28', file: string): Promise<void> {
  const res = await client.images.generate({
    model,
    prompt,
    n: 1,
    size: size as '256x256',
    response_format: 'b64_json',
  });
  const png = Buffer.from(res.data?.[0]?.b64_json ?? '', 'base64');
  await writeFile(join(out, file), png);
  console.log(`image (${model}, "${prompt}"): ${join(out, file)}, ${png.length} bytes PNG`);
}

/** Duration of a PCM WAV: the `data` chunk's bytes over the `fmt ` chunk's byte rate. */
function wavSeconds(wav: Buffer): number {
  let byteRate = 0;
  for (let at = 12; at + 8 <= wav.length; ) {
    const id = wav.toString('latin1', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'fmt ') byteRate = wav.readUInt32LE(at + 16);
    if (id === 'data') return byteRate > 0 ? Math.min(size, wav.length - at - 8) / byteRate : 0;
    at += 8 + size + (size % 2);
  }
  return 0;
}

async function speak(): Promise<void> {
  const res = await client.audio.speech.create({
    model: 'tts-1',
    voice: 'alloy',
    input: 'Call me Ishmael.',
    response_format: 'wav',
  });
  const wav = Buffer.from(await res.arrayBuffer());
  await writeFile(join(out, 'speech.wav'), wav);
  console.log(`speech (tts-1): ${join(out, 'speech.wav')}, ${wavSeconds(wav).toFixed(2)} s of WAV`);
}

async function classifyByChat(): Promise<void> {
  const res = await client.chat.completions.create({
    model: 'zoo~spam-cnn',
    messages: [{ role: 'user', content: 'WINNER!! Claim your FREE cruise now, call 0800 123 456' }],
  });
  console.log(`chat (zoo~spam-cnn): ${res.choices[0]?.message?.content}`);
}

async function main(): Promise<void> {
  await mkdir(out, { recursive: true });
  await listModels();
  await chatStreaming();
  await embed();
  await draw('zoo~image-gen', 'a handwritten 7', '28x28', 'seven.png');
  await draw('zoo~cppn', 'a calm sea', '256x256', 'cppn.png');
  await speak();
  await classifyByChat();
}

main().catch((err: unknown) => {
  console.error(err instanceof OpenAI.APIError ? `${err.status} ${err.message}` : err);
  process.exitCode = 1;
});
