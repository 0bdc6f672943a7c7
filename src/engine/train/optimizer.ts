/** The contract between the train-step compiler and optimizers (implemented in nn/optim). */
import type { Graph } from '../ir/graph';
import type { Value } from '../ir/types';

export interface OptimizerContext {
  g: Graph;
  /** All parameters packed into one flat vector [P] (docs/engine.md: fewer nodes, less I/O), or,
   * for an `elementwise` optimizer under the `separate` layout, one parameter tensor. */
  params: Value;
  /** dLoss/dParams (times `gradientScale` when the optimizer has one), shaped as `params`. */
  grad: Value;
  /** Each state vector named in `stateNames`, shaped as `params`, zero at step 1. */
  state: Readonly<Record<string, Value>>;
  /** Learning rate, a rank-0 input fed per step (schedules are computed in JS). */
  lr: Value;
  /** 1-based step number as a rank-0 float input (for bias corrections). */
  step: Value;
}

export interface OptimizerUpdate {
  /** The new parameters: shaped as `params`, or the same number of values in another shape (plain
   * SGD's bias update is a [1, out] GEMM); the train step reads them back in the parameter's shape. */
  params: Value;
  state: Record<string, Value>;
  /** Extra scalar outputs reported with each step, e.g. `grad_norm`. */
  metrics?: Record<string, Value>;
}

export interface Optimizer {
  readonly name: string;
  readonly stateNames: readonly string[];
  /**
   * True when the update treats every element on its own (no global norm): the train step may then
   * run it once per parameter tensor (`separate` layout) instead of once over the packed vector.
   */
  readonly elementwise?: boolean;
  /**
   * The scalar the backward pass is seeded with instead of 1, so every gradient reaches `update`
   * already multiplied by it. Plain SGD returns lr itself: its update is then p − grad, which folds
   * into the GEMM that produces the gradient (C = p, α negated) with no scaling node anywhere (the
   * scale rides the loss gradient, a [N, classes] tensor, instead of each [N, out] layer gradient).
   */
  gradientScale?(g: Graph, lr: Value): Value;
  update(ctx: OptimizerContext): OptimizerUpdate;
}
