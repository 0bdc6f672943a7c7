/** The task benchmarks' contender (run by bench/lib/child.ts like every other one): builds the
 * recipe's model (`model` arg, bench/tasks/recipes.ts), then times one path (`path` arg):
 *
 * - `runtime`: the family's task runtime (src/models/runtimes.ts) over an EngineSession in this
 *   process, no HTTP: the limit for serving. ORT as the server's: 2 intra-op threads, 1 inter-op,
 *   optimisation `all`, spinning off.
 * - `served`: a real `maas serve` child process with the model registered, called over HTTP on the
 *   OpenAI-compatible route by a keep-alive client in this process, one request at a time.
 * - a recipe's own extra path, e.g. `png` (PNG encoding alone).
 *
 * steps/s = calls/s; samples/s = texts, images or generations per second; tokens/s for generation
 * counts the completion tokens each call reported. */

import '../../src/models/index';
import { EngineSession } from '../../src/engine/runtime/session';
import { decodePng } from '../../src/models/common/image';
import { runtimeFor } from '../../src/models/index';
import type { TaskRuntime } from '../../src/models/task';
import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { measureSteps, num, timingOptions } from '../lib/measure';
import { sessionOptions, VERSION } from '../maas/common';
import { digest16 } from '../maas/generate';
import type { BenchModel } from './models';
import { type Step, type StepOutcome, type TaskRecipe, taskRecipes } from './recipes';
import { BenchClient, serveModel } from './served';

async function inProcess(model: BenchModel, args: ShapeArgs) {
  const session = await EngineSession.create(model.onnx, sessionOptions(args));
  const family = String(model.metadata.family);
  const factory = runtimeFor(family);
  if (!factory) throw new Error(`no runtime for family ${family}`);
  const runtime: TaskRuntime = await factory({
    run: (inputs, o) => session.run(inputs, o?.outputs),
    metadata: model.metadata,
  });
  return { runtime, close: () => session.release() };
}

async function openPath(
  recipe: TaskRecipe,
  model: BenchModel,
  path: string,
  args: ShapeArgs,
): Promise<{ step: Step; close: () => Promise<Record<string, unknown>> }> {
  if (path === 'served') {
    const server = await serveModel(model, recipe.task);
    const client = new BenchClient(server.url);
    const call = await recipe.served(client, args);
    // The server's totals after the last untimed call (measureSteps runs max(1, warmup) of them),
    // so the first call's model load stays out of the server's mean.
    const lastWarmup = Math.max(1, timingOptions(args).warmup) - 1;
    let before = { seconds: 0, count: 0 };
    return {
      step: async (k) => {
        const outcome = await call(k);
        if (k === lastWarmup) before = await client.serverTotals(recipe.route);
        return outcome;
      },
      close: async () => {
        const after = await client
          .serverTotals(recipe.route)
          .catch(() => ({ seconds: Number.NaN, count: 0 }));
        client.close();
        await server.stop();
        return { server_ms_mean: (1000 * (after.seconds - before.seconds)) / (after.count - before.count) };
      },
    };
  }
  const { runtime, close } = await inProcess(model, args);
  const make = path === 'runtime' ? recipe.runtime : recipe.extra?.[path];
  if (!make) throw new Error(`recipe ${recipe.name} has no path "${path}"`);
  return {
    step: await make(runtime, args),
    close: async () => {
      await close();
      return {};
    },
  };
}

/** Checks the last images decode as PNGs of the requested size (a served reply could be anything). */
function pngCheck(outcome: StepOutcome, args: ShapeArgs): Record<string, unknown> {
  if (!outcome.pngs || outcome.pngs.length === 0) return {};
  const side = num(args, 'size', 256);
  for (const png of outcome.pngs) {
    const img = decodePng(png);
    if (img.width !== side || img.height !== side)
      throw new Error(`a ${img.width}×${img.height} image, ${side}×${side} asked`);
  }
  const bytes = outcome.pngs.reduce((n, p) => n + p.length, 0) / outcome.pngs.length;
  return { png_bytes_mean: Math.round(bytes) };
}

export async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const name = String(args.task_model ?? '');
  if (!taskRecipes.names().includes(name)) return { unsupported: `no task recipe "${name}"` };
  const recipe = taskRecipes.get(name);
  const path = String(args.path ?? 'runtime');
  const model = await recipe.build(args);
  const opened = await openPath(recipe, model, path, args);
  const outcomes: StepOutcome[] = [];
  let index = 0;
  let timing: Awaited<ReturnType<typeof measureSteps>>;
  let closing: Record<string, unknown> = {};
  try {
    timing = await measureSteps(async () => {
      outcomes.push(await opened.step(index++));
      return 0;
    }, timingOptions(args));
  } finally {
    closing = await opened.close();
  }
  // The timed steps are the last `timing.steps` outcomes (the warm-up ones came first).
  const timed = outcomes.slice(-timing.steps);
  const items = timed.reduce((n, o) => n + o.items, 0);
  const tokens = timed.reduce((n, o) => n + (o.tokens ?? 0), 0);
  const last = timed[timed.length - 1];
  const ttft = timed.map((o) => o.firstTokenMs).filter((t): t is number => t !== undefined);
  return {
    steps_per_s: timing.steps / timing.seconds,
    samples_per_s: items / timing.seconds,
    ...(tokens > 0 ? { tokens_per_s: tokens / timing.seconds } : {}),
    loss_first: 0,
    loss_last: 0,
    // PNG encoding does no model arithmetic.
    flops_per_step: path === 'png' ? 0 : recipe.flops(args),
    steps: timing.steps,
    seconds: timing.seconds,
    items_per_step: items / timing.steps,
    threads: sessionOptions(args).intraOpThreads,
    version: VERSION,
    path,
    model_size: model.size,
    ...(last.text !== undefined ? { text_digest: digest16(last.text) } : {}),
    ...(ttft.length > 0 ? { first_token_ms_median: ttft.sort((a, b) => a - b)[ttft.length >> 1] } : {}),
    ...pngCheck(last, args),
    ...closing,
    ...(recipe.describe ? await recipe.describe(args, model) : {}),
  };
}
