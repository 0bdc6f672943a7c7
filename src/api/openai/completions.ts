/**
 * `/v1/chat/completions` and `/v1/completions`, translated onto the task service's generation.
 * Streaming answers are OpenAI's SSE chunks ending with `data: [DONE]`; with
 * `stream_options.include_usage` every chunk carries `usage: null` and one last chunk with empty
 * `choices` carries the counts. A client that hangs up aborts the generation.
 */
import { randomUUID } from 'node:crypto';
import { fail } from '../../common/errors';
import type { TokenUsage } from '../../models/common/metering';
import { parseMessages } from '../../platform/tasks/chat';
import type { GenerationJob } from '../../platform/tasks/generation';
import type { TaskTarget } from '../../platform/tasks/service';
import { toMaasError } from '../errors';
import { disconnectSignal } from '../kserve';
import { admitServing, type Charge } from '../metered';
import type { RouteContext } from '../route';
import { classifierChat, isClassifier } from './classifier-chat';
import { openAIErrorBody } from './errors';
import { type Body, chatTools, generationParams, objectBody, streamOptions, targetOf } from './parse';
import { SseStream } from './sse';

type Kind = 'chat' | 'text';

export function usageBody(u: TokenUsage) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.quantity };
}

/** One choice's payload in a chunk or a whole answer, in the shape of `kind`. */
function choice(kind: Kind, index: number, text: string | null, finish: string | null, first = false) {
  if (kind === 'text') return { index, text: text ?? '', logprobs: null, finish_reason: finish };
  const delta = text === null ? {} : first ? { role: 'assistant', content: text } : { content: text };
  return { index, delta, logprobs: null, finish_reason: finish };
}

async function answer(ctx: RouteContext, body: Body, kind: Kind, target: TaskTarget, job: GenerationJob) {
  const { stream, includeUsage } = streamOptions(body);
  // Reserve the most this can cost (prompt + every choice's budget); headers go out before any byte.
  const charge = await admitServing(ctx, target, job.promptTokens + job.n * job.maxTokens);
  const head = {
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model as string,
  };
  const signal = disconnectSignal(ctx);
  if (stream) return streamAnswer(ctx, kind, job, head, includeUsage, signal, charge);
  const out = await job.run(undefined, signal).catch(async (e: unknown) => {
    await charge.failed(e, job.version);
    throw e;
  });
  await charge.done(out.usage.quantity, job.version);
  return {
    ...head,
    choices: out.choices.map((c, i) =>
      kind === 'chat'
        ? {
            index: i,
            message: { role: 'assistant', content: c.text },
            logprobs: null,
            finish_reason: c.finishReason,
          }
        : { index: i, text: c.text, logprobs: null, finish_reason: c.finishReason },
    ),
    usage: usageBody(out.usage),
  };
}

function streamAnswer(
  ctx: RouteContext,
  kind: Kind,
  job: GenerationJob,
  head: { id: string; object: string; created: number; model: string },
  includeUsage: boolean,
  signal: AbortSignal,
  charge: Charge,
) {
  const sse = new SseStream(ctx.reply);
  const chunkHead = { ...head, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion' };
  const extra = includeUsage ? { usage: null } : {};
  const send = (choices: unknown[]) => sse.send({ ...chunkHead, choices, ...extra });
  if (kind === 'chat') send(Array.from({ length: job.n }, (_, i) => choice(kind, i, '', null, true)));
  job
    .run((i, delta) => {
      if (delta) send([choice(kind, i, delta, null)]);
    }, signal)
    .then(async (out) => {
      await charge.done(out.usage.quantity, job.version);
      out.choices.forEach((c, i) => {
        send([choice(kind, i, kind === 'chat' ? null : '', c.finishReason)]);
      });
      if (includeUsage) sse.send({ ...chunkHead, choices: [], usage: usageBody(out.usage) });
      sse.send('[DONE]');
      sse.end();
    })
    .catch(async (e: unknown) => {
      await charge.failed(e, job.version).catch(() => undefined);
      const err = toMaasError(e);
      if (err.code === 'internal') ctx.request.log.error({ err: e }, 'generation failed mid-stream');
      // The status line is gone already: OpenAI clients read an `error` object in a data event.
      sse.send(openAIErrorBody(err));
      sse.end();
    });
  return sse.stream;
}

export async function chatCompletions(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const target = await targetOf(ctx, body.model);
  const messages = parseMessages(body.messages);
  if (await isClassifier(ctx, target)) return classifierChat(ctx, body, target, messages);
  const tools = chatTools(body);
  const job = await ctx.platform.tasks.chat(
    target,
    messages,
    generationParams({ ...body, tools: undefined }),
    tools,
  );
  return answer(ctx, body, 'chat', target, job);
}

export async function completions(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const target = await targetOf(ctx, body.model);
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] !== 'number') prompt = prompt[0];
  // OpenAI's token-id prompt: one list of ids (a list of such lists would be a batch).
  const promptIds =
    Array.isArray(prompt) && prompt.every((x) => typeof x === 'number') ? (prompt as number[]) : undefined;
  if (typeof prompt !== 'string' && !promptIds)
    fail(
      'invalid_request',
      'prompt must be a string or one list of token ids (batches of prompts are not supported)',
      {
        pointer: 'prompt',
      },
    );
  const job = await ctx.platform.tasks.generation(target, {
    ...generationParams(body),
    prompt: promptIds ? '' : (prompt as string),
    promptIds,
  });
  return answer(ctx, body, 'text', target, job);
}
