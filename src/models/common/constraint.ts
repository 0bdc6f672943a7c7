/**
 * The generation hook every decoder loop shares: a `TokenConstraint` sees each step's logits
 * before sampling and hides the tokens that may not come next (e.g. JSON that must keep matching a
 * schema: src/models/language/constrain), then hears which token was chosen. `Generator` applies
 * it, so any runtime that samples through `Generator` gets constrained decoding for free.
 */
export interface TokenConstraint {
  /** Ids that end the text; a constraint allows them only where its output may end. */
  readonly endTokens: readonly number[];
  /**
   * The logits with every token that may not come next set to -Infinity (a copy; the input is not
   * modified). `remaining`: tokens that may still be generated, this one included, so the
   * constraint can steer towards an end in time.
   */
  mask(logits: Float32Array, remaining: number): Float32Array;
  /** The chosen token (one `mask` allowed). */
  accept(token: number): void;
  /** The output is complete and nothing may follow it: the generation ends ('stop'). */
  readonly finished: boolean;
}
