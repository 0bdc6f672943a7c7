/**
 * `/v1/chat/completions` with a classifier (what `/v1/fine_tuning/jobs` makes from chat examples):
 * the model reads the conversation's user messages — the same text it was trained on
 * (`chatExampleText`) — and the assistant's reply is the predicted label, like a fine-tuned
 * OpenAI model that learned to answer with a class. Metered like /classify: one input per request.
 * `usage` says so: 1 prompt "token" (the input), 0 completion tokens.
 *
 *   → {"model": "ft-text-cnn-weather-1a2b3c4d", "messages": [{"role": "user", "content": "warm"}]}
 *   ← {"choices": [{"message": {"role": "assistant", "content": "good"}, "finish_reason": "stop"}]}
 */
import { randomUUID } from 'node:crypto';
import { fail, isMaasError } from '../../common/errors';
import { chatExampleText } from '../../data/index';
import type { ChatMessage } from '../../platform/tasks/chat';
import type { TaskTarget } from '../../platform/tasks/service';
import { disconnectSignal } from '../common';
import { metered } from '../metered';
import type { RouteContext } from '../route';
import { openAIFeatures } from './features';
import { type Body, generationParams, optionalInteger, streamOptions } from './parse';
import { SseStream } from './sse';

/** Choices per request: every choice of a classifier is the same label. */
const MAX_N = 16;
const USAGE = { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 };

/** Is the target a classifier trained here (then chat answers with its label)? */
export async function isClassifier(ctx: RouteContext, target: TaskTarget): Promise<boolean> {
  // Not a registered model (a built-in speech model, a missing version): the task service says why.
  const version = await ctx.platform.registry
    .resolve(target.owner, target.model, target.ref)
    .catch((e: unknown) => (isMaasError(e) && e.code === 'not_found' ? null : Promise.reject(e)));
  return version?.metadata.task === 'classification' && typeof version.metadata.featureSpec === 'object';
}

export async function classifierChat(
  ctx: RouteContext,
  body: Body,
  target: TaskTarget,
  messages: readonly ChatMessage[],
) {
  const { stream, includeUsage } = streamOptions(body);
  // The same checks as a generation; sampling has no effect, and a label has no JSON, tools or logprobs.
  generationParams(body);
  const features = openAIFeatures(body, 'chat');
  if (features.json || features.logprobs !== undefined || features.tools.length > 0)
    fail(
      'invalid_request',
      'a classifier answers with a label: response_format, tools and logprobs do not apply',
    );
  const n = optionalInteger(body, 'n') ?? 1;
  if (n < 1 || n > MAX_N) fail('invalid_request', `n must be from 1 to ${MAX_N}`, { pointer: 'n' });
  const text = chatExampleText(messages);
  if (text === '')
    fail('invalid_request', 'a classifier reads the user messages: send at least one', {
      pointer: 'messages',
    });
  const out = await metered(
    ctx,
    target,
    1,
    () => ctx.platform.tasks.classify(target, [text], disconnectSignal(ctx)),
    (r) => ({ units: 1, version: r.version }),
  );
  const label = out.predictions[0].label;
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model as string;
  const indexes = Array.from({ length: n }, (_, i) => i);
  if (!stream)
    return {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: indexes.map((index) => ({
        index,
        message: { role: 'assistant', content: label },
        logprobs: null,
        finish_reason: 'stop',
      })),
      usage: USAGE,
    };
  const sse = new SseStream(ctx.reply);
  const chunk = {
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    ...(includeUsage ? { usage: null } : {}),
  };
  for (const index of indexes) {
    const delta = { role: 'assistant', content: label };
    sse.send({ ...chunk, choices: [{ index, delta, logprobs: null, finish_reason: null }] });
    sse.send({ ...chunk, choices: [{ index, delta: {}, logprobs: null, finish_reason: 'stop' }] });
  }
  if (includeUsage) sse.send({ ...chunk, choices: [], usage: USAGE });
  sse.send('[DONE]');
  sse.end();
  return sse.stream;
}
