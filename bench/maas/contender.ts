/** maas's own engine as a benchmark contender: the row every table keeps for us.
 *
 * A registry of recipes keyed by the `model` shape argument; each builds the same model as
 * bench/peers/torch_<model>.py (same shapes, init scheme, optimizer, fixed synthetic batch) with
 * src/nn + compileTrainStep, times it with measureSteps() and returns the JSON contract of
 * bench/lib/contender.ts. The harness runs this module in its own child process
 * (bench/lib/child.ts), like every peer. A model without a recipe answers `unsupported`.
 *
 * Optional args every recipe reads (for profiling from the command line, see common.ts):
 * `intra_threads` (default 2), `inter_threads`, `graph_opt` (disabled|basic|extended|all). */

import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { Registry } from '../lib/registry';
import { cnnRecipe } from './cnn';
import { gptGenerateRecipe } from './generate';
import { gptRecipe, lstmRecipe } from './lm';
import { mlpRecipe } from './mlp';
import type { MaasRecipe } from './recipe';

export type { MaasRecipe } from './recipe';

export const recipes = new Registry<MaasRecipe>('maas benchmark recipe')
  .add(mlpRecipe)
  .add(cnnRecipe)
  .add(lstmRecipe)
  .add(gptRecipe)
  .add(gptGenerateRecipe);

export async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const model = String(args.model ?? '');
  if (!recipes.names().includes(model)) {
    return { unsupported: `no maas recipe for "${model}" yet`, version: 'maas' };
  }
  return recipes.get(model).run(args);
}
