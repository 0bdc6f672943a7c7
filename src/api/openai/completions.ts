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
import { disconnectSignal } from '../common';
import { toMaasError } from '../errors';
import { admitServing, type Charge } from '../metered';
import type { RouteContext } from '../route';
import { ChoiceStream, wholeChoice } from './choice-output';
import { classifierChat, isClassifier } from './classifier-chat';
import { openAIErrorBody } from './errors';
import { type OpenAIFeatures, openAIFeatures } from './features';
import { type Body, generationParams, objectBody, streamOptions, targetOf } from './parse';
import { SseStream } from './sse';

type Kind = 'chat' | 'text';

export function usageBody(u: TokenUsage) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.quantity };
}

/** What shapes the choices: the request's features, and the prompt's length (completions' text_offset). */
interface Shaping {
  features: OpenAIFeatures;
  promptChars: number;
}

async function answer(
  ctx: RouteContext,
  body: Body,
  kind: Kind,
  target: TaskTarget,
  job: GenerationJob,
  shaping: Shaping,
) {
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
  if (stream) return streamAnswer(ctx, kind, job, head, includeUsage, signal, charge, shaping);
  const out = await job.run(undefined, signal).catch(async (e: unknown) => {
    await charge.failed(e, job.version);
    throw e;
  });
  await charge.done(out.usage.quantity, job.version);
  return {
    ...head,
    choices: out.choices.map((c, i) => wholeChoice(kind, i, c, shaping.features, shaping.promptChars)),
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
  shaping: Shaping,
) {
  const sse = new SseStream(ctx.reply);
  const chunkHead = { ...head, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion' };
  const extra = includeUsage ? { usage: null } : {};
  const send = (choices: unknown[]) => sse.send({ ...chunkHead, choices, ...extra });
  const streams = Array.from(
    { length: job.n },
    (_, i) => new ChoiceStream(kind, i, shaping.features, shaping.promptChars),
  );
  if (kind === 'chat')
    send(
      streams.map((_, i) => ({
        index: i,
        delta: { role: 'assistant', content: '' },
        logprobs: null,
        finish_reason: null,
      })),
    );
  job
    .run((i, delta, logprobs) => {
      for (const payload of streams[i].delta(delta, logprobs)) send([payload]);
    }, signal)
    .then(async (out) => {
      await charge.done(out.usage.quantity, job.version);
      out.choices.forEach((c, i) => {
        for (const payload of streams[i].finish(c.finishReason)) send([payload]);
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
  const features = openAIFeatures(body, 'chat');
  const job = await ctx.platform.tasks.chat(
    target,
    messages,
    { ...generationParams(body), json: features.json, logprobs: features.logprobs },
    features.rawTools,
  );
  return answer(ctx, body, 'chat', target, job, { features, promptChars: 0 });
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
  const features = openAIFeatures(body, 'text');
  const text = promptIds ? '' : (prompt as string);
  const job = await ctx.platform.tasks.generation(target, {
    ...generationParams(body),
    prompt: text,
    promptIds,
    json: features.json,
    logprobs: features.logprobs,
  });
  return answer(ctx, body, 'text', target, job, { features, promptChars: text.length });
}
