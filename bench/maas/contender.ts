/** maas's own engine as a benchmark contender: the row every table keeps for us.
 *
 * The engine (src/engine, src/nn) is being written; until its train-step API lands, every model
 * answers `unsupported`, and the tables show the peers only. Wiring a model in is adding one row
 * to `recipes` below: a function that builds the same model as bench/peers/torch_<model>.py (same
 * shapes, init scheme, optimizer, fixed synthetic batch), times it with measureSteps() from
 * bench/lib/measure.ts and returns trainResult(...) — the JSON contract of bench/lib/contender.ts.
 * The harness runs this module in its own child process (bench/lib/child.ts), like every peer. */

import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { Registry } from '../lib/registry';

export interface MaasRecipe {
  /** The `model` shape argument it answers: mlp, cnn, lstm-lm, gpt, gpt-generate. */
  name: string;
  run(args: ShapeArgs): Promise<ContenderOutput>;
}

export const recipes = new Registry<MaasRecipe>('maas benchmark recipe');

export async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const model = String(args.model ?? '');
  if (!recipes.names().includes(model)) {
    return {
      unsupported: `no maas recipe for "${model}" yet (engine train-step API not landed)`,
      version: 'maas',
    };
  }
  return recipes.get(model).run(args);
}
