import { type Tensor, zeros } from '../engine/runtime/tensor';
import { badData } from './problems';
import { Rng, type RngState } from './rng';

/** A deterministic train/validation split of `n` examples: the same seed gives the same split. */
export function splitIndices(
  n: number,
  validationFraction: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  if (!(validationFraction >= 0 && validationFraction < 1))
    badData('validationFraction', 'must be in [0, 1)');
  const order = Rng.fromSeed(seed ^ 0x5eed).shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const nVal = n > 1 ? Math.min(n - 1, Math.round(n * validationFraction)) : 0;
  return { validation: order.slice(0, nVal).sort(), train: order.slice(nVal).sort() };
}

/**
 * Where an epoch-shuffled iterator stands, as plain JSON for checkpoints. `epochRng` is the
 * generator state at the start of the current epoch: the epoch's order is re-drawn from it on
 * restore, so the cursor stays small however large the dataset.
 */
export interface BatchCursor {
  epoch: number;
  /** Examples of this epoch already handed out. */
  position: number;
  epochRng: RngState;
}

export interface MinibatchOptions {
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (training) or keep order (validation). Default true. */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize. Default false. */
  dropLast?: boolean;
  cursor?: BatchCursor;
}

export interface Batch {
  epoch: number;
  /** Positions in the dataset of the batch's examples. */
  indices: Int32Array;
}

/**
 * Minibatches over a subset of example indices (e.g. the training split), reshuffled every
 * epoch from a seeded generator. `cursor()` after any batch, restored with `options.cursor`,
 * continues with exactly the batches the original would have produced.
 */
export class MinibatchIterator {
  private epoch: number;
  private position: number;
  private epochRng: RngState;
  private order: Int32Array;

  constructor(
    private readonly indices: Int32Array,
    private readonly options: MinibatchOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
      badData('batchSize', 'must be a positive integer');
    if (indices.length === 0) badData('file', 'no examples to make batches from');
    const start = options.cursor ?? { epoch: 0, position: 0, epochRng: Rng.fromSeed(options.seed).state() };
    this.epoch = start.epoch;
    this.position = start.position;
    this.epochRng = start.epochRng;
    this.order = this.drawOrder();
  }

  private drawOrder(): Int32Array {
    const order = this.indices.slice();
    return this.options.shuffle === false ? order : Rng.fromState(this.epochRng).shuffle(order);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    const n = this.indices.length;
    return this.options.dropLast
      ? Math.floor(n / this.options.batchSize)
      : Math.ceil(n / this.options.batchSize);
  }

  cursor(): BatchCursor {
    return { epoch: this.epoch, position: this.position, epochRng: this.epochRng };
  }

  /** The next batch; crosses into the next epoch (reshuffled) when this one is used up. */
  next(): Batch {
    const { batchSize, dropLast } = this.options;
    const remaining = this.order.length - this.position;
    if (remaining <= 0 || (dropLast && remaining < batchSize)) this.nextEpoch();
    const end = Math.min(this.position + batchSize, this.order.length);
    const batch = { epoch: this.epoch, indices: this.order.slice(this.position, end) };
    this.position = end;
    return batch;
  }

  /** The batches left in the current epoch (for validation passes: one epoch, in order). */
  *restOfEpoch(): Generator<Batch> {
    while (this.position < this.order.length) {
      if (this.options.dropLast && this.order.length - this.position < this.options.batchSize) return;
      yield this.next();
    }
  }

  private nextEpoch(): void {
    // The next epoch's generator continues from the one that drew this epoch's order.
    const rng = Rng.fromState(this.epochRng);
    rng.shuffle(this.indices.slice());
    this.epochRng = rng.state();
    this.epoch++;
    this.position = 0;
    this.order = this.drawOrder();
  }
}

/** Rows `indices` of a tensor whose first dim is the example: the batch's slice, copied. */
export function gatherRows<T extends Tensor>(tensor: T, indices: Int32Array): T {
  const [, ...rest] = tensor.dims;
  const width = rest.reduce((a, b) => a * b, 1);
  const out = zeros(tensor.dtype, [indices.length, ...rest]);
  const src = tensor.data as { subarray(a: number, b: number): ArrayLike<number | bigint> };
  const dst = out.data as unknown as { set(a: ArrayLike<number | bigint>, o: number): void };
  for (let i = 0; i < indices.length; i++)
    dst.set(src.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
  return out as T;
}
