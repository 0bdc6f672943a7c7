/** One maas benchmark recipe: builds the peer's model with the engine and times its train step. */

import type { ContenderOutput, ShapeArgs } from '../lib/contender';

export interface MaasRecipe {
  /** The `model` shape argument it answers: mlp, cnn, lstm-lm, gpt, gpt-generate. */
  name: string;
  run(args: ShapeArgs): Promise<ContenderOutput>;
}
