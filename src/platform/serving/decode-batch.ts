/**
 * Continuous batching of decoder sequences, on the side where their KV caches live (the model's
 * worker thread). Each open sequence's state is either alone (after its prefill: a
 * [1, kv_heads, len, head_dim] tensor per fed-back input, in SequenceStates) or one row of the
 * batched state held here: [rows, kv_heads, width, head_dim], each row left-padded to `width`.
 *
 * A decode step feeds one new token per row: input_ids and position_ids stacked along dim 0, an
 * attention mask [rows, width + 1] with zeros over each row's padding (the graph masks those keys
 * and, without position_ids, counts positions over the real tokens), and the batched state. The
 * present outputs ([rows, kv_heads, width + 1, head_dim]) become the batched state as they are:
 * while the same rows keep stepping nothing is copied. When rows join or leave the batch is
 * re-packed: every row's real part is cut out and left-padded to the new longest row; a row that
 * did not step this time goes back to its own state, a closed one is dropped.
 */
import { type BatchPlan, type Feedback, releaseStorage, type SequenceStates } from '../../engine/index';
import { elementCount, type Tensor, zeros } from '../../engine/runtime/tensor';
import { sliceRows, stack } from './tensors';

export interface BatchRow {
  id: number;
  feeds: Record<string, Tensor>;
}

type Exec = (feeds: Record<string, Tensor>, outputs?: readonly string[]) => Promise<Record<string, Tensor>>;

/** Copy `len` positions along `axis` from row `sRow` of `src` (from `sFrom`) into `dst`. */
function copyWindow(
  src: Tensor,
  sRow: number,
  sFrom: number,
  dst: Tensor,
  dRow: number,
  dFrom: number,
  len: number,
  axis: number,
): void {
  const outer = elementCount(src.dims.slice(1, axis));
  const inner = elementCount(src.dims.slice(axis + 1));
  const sRowSize = elementCount(src.dims.slice(1));
  const dRowSize = elementCount(dst.dims.slice(1));
  const sAxis = src.dims[axis];
  const dAxis = dst.dims[axis];
  const s = src.data as Float32Array;
  const d = dst.data as Float32Array;
  for (let o = 0; o < outer; o++) {
    const from = sRow * sRowSize + (o * sAxis + sFrom) * inner;
    d.set(s.subarray(from, from + len * inner), dRow * dRowSize + (o * dAxis + dFrom) * inner);
  }
}

/** One row's real part, [1, ..., len, ...], cut out of a batched state tensor. */
function cutRow(t: Tensor, row: number, len: number, axis: number): Tensor {
  const dims = [...t.dims];
  dims[0] = 1;
  dims[axis] = len;
  const out = zeros(t.dtype, dims);
  copyWindow(t, row, t.dims[axis] - len, out, 0, 0, len, axis);
  return out;
}

export class DecodeBatch {
  private ids: number[] = [];
  private lens: number[] = [];
  private width = 0;
  private state: Record<string, Tensor> = {};
  private readonly closed = new Set<number>();
  private plan: BatchPlan | null = null;

  constructor(private readonly solo: SequenceStates) {}

  /** Rows in the batched state now (diagnostics). */
  get rows(): readonly number[] {
    return this.ids;
  }

  /** A sequence was closed: its row is dropped at the next re-pack. */
  close(id: number): void {
    this.solo.close(id);
    if (this.ids.includes(id)) this.closed.add(id);
  }

  /** Sequence `id` steps alone next: its row goes back to its own state. */
  detach(id: number): void {
    if (this.plan && this.ids.includes(id))
      this.repack(
        this.ids.filter((x) => x !== id),
        this.plan,
      );
  }

  clear(): void {
    this.ids = [];
    this.lens = [];
    this.state = {};
    this.closed.clear();
  }

  /** One decode step (one token per row) of `rows`; returns each row's non-fed-back outputs. */
  async step(
    rows: readonly BatchRow[],
    feedback: Feedback,
    plan: BatchPlan,
    exec: Exec,
    outputs?: readonly string[],
  ): Promise<Record<string, Tensor>[]> {
    this.plan = plan;
    const ids = rows.map((r) => r.id);
    if (ids.length !== this.ids.length || ids.some((id, i) => id !== this.ids[i])) this.repack(ids, plan);
    const fed = new Set(Object.values(feedback));
    const feeds: Record<string, Tensor> = { ...this.state };
    for (const name of Object.keys(rows[0].feeds)) {
      if (name === plan.attentionMask || fed.has(name)) continue;
      feeds[name] = plan.shared.includes(name) ? rows[0].feeds[name] : stack(rows.map((r) => r.feeds[name]));
    }
    const width = this.width + 1;
    // Filled natively (no BigInt per position): this runs once per generated token.
    const mask = zeros('int64', [rows.length, width]);
    for (const [r, len] of this.lens.entries())
      mask.data.fill(1n, r * width + (width - len - 1), (r + 1) * width);
    feeds[plan.attentionMask] = mask;
    const fetch = outputs ? [...new Set([...outputs, ...Object.keys(feedback)])] : undefined;
    let out: Record<string, Tensor>;
    try {
      out = await exec(feeds, fetch);
    } catch (e) {
      // The state is unknown after a failed run: every row starts over (its decoder sees the error).
      this.clear();
      throw e;
    }
    const rest: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      const input = feedback[name];
      if (input === undefined) {
        rest[name] = t;
        continue;
      }
      const old = this.state[input];
      this.state[input] = t;
      if (old && old !== t) releaseStorage(old);
    }
    this.width = width;
    this.lens = this.lens.map((l) => l + 1);
    return rows.map((_, r) => {
      const mine: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(rest)) mine[name] = rows.length === 1 ? t : sliceRows(t, r, 1);
      return mine;
    });
  }

  /** Re-pack the batched state for the rows `ids` (in this order). */
  private repack(ids: readonly number[], plan: BatchPlan): void {
    const { axis } = plan;
    const wanted = new Set(ids);
    const parts = new Map<number, Record<string, Tensor>>();
    this.ids.forEach((id, r) => {
      if (this.closed.has(id)) return;
      const own: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(this.state)) own[name] = cutRow(t, r, this.lens[r], axis);
      if (wanted.has(id)) parts.set(id, own);
      else this.solo.put(id, own);
    });
    for (const id of ids) {
      if (parts.has(id)) continue;
      const own = this.solo.take(id);
      if (!own || Object.keys(own).length === 0) throw new Error(`sequence ${id} has no state to batch`);
      parts.set(id, own);
    }
    this.closed.clear();
    if (ids.length === 0) {
      this.clear();
      return;
    }
    const lens = ids.map((id) => Object.values(parts.get(id)!)[0].dims[axis]);
    const width = Math.max(...lens);
    const state: Record<string, Tensor> = {};
    for (const name of Object.keys(parts.get(ids[0])!)) {
      const dims = [...parts.get(ids[0])![name].dims];
      dims[0] = ids.length;
      dims[axis] = width;
      const t = zeros(parts.get(ids[0])![name].dtype, dims);
      ids.forEach((id, r) => {
        copyWindow(parts.get(id)![name], 0, 0, t, r, width - lens[r], lens[r], axis);
        releaseStorage(parts.get(id)![name]);
      });
      state[name] = t;
    }
    for (const old of Object.values(this.state)) releaseStorage(old);
    this.ids = [...ids];
    this.lens = lens;
    this.width = width;
    this.state = state;
  }
}
