/** The request a playground just made, as a curl command and as `openai` client code. */
import type { ChatRequest } from '../../../src/sdk/console';

export function chatCurl(origin: string, req: ChatRequest): string {
  const body = JSON.stringify({ ...req, stream: true }, null, 2).replace(/'/g, "'\\''");
  return `curl -N ${origin}/v1/chat/completions \\\n  -H "Authorization: Bearer $MAAS_KEY" \\\n  -H "Content-Type: application/json" \\\n  -d '${body}'`;
}

export function chatOpenAI(origin: string, req: ChatRequest): string {
  const { model, messages, ...params } = req;
  const extra = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)},\n`)
    .join('');
  return `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${origin}/v1', apiKey: process.env.MAAS_KEY });
const stream = await client.chat.completions.create({
  model: ${JSON.stringify(model)},
  messages: ${JSON.stringify(messages)},
${extra}  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
`;
}
