/** Validation metrics of a finished training: accuracy, macro-F1 and confusion matrix, or RMSE. */
import type { Tensor } from '../../engine/runtime/tensor';

export interface ClassMetrics {
  accuracy: number;
  macroF1: number;
  classes: string[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export interface RegressionMetrics {
  /** In the target's own units. */
  rmse: number;
  mae: number;
}

export class ConfusionCounter {
  readonly confusion: number[][];

  constructor(readonly classes: string[]) {
    this.confusion = classes.map(() => classes.map(() => 0));
  }

  /** logits [n, C], labels int64 [n]. */
  add(logits: Tensor, labels: Tensor): void {
    const [n, c] = logits.dims;
    const data = logits.data as Float32Array;
    const y = labels.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < c; j++) if (data[i * c + j] > data[i * c + best]) best = j;
      this.confusion[Number(y[i])][best]++;
    }
  }

  result(): ClassMetrics {
    const k = this.classes.length;
    let hits = 0;
    let total = 0;
    let f1Sum = 0;
    for (let i = 0; i < k; i++) {
      const tp = this.confusion[i][i];
      const row = this.confusion[i].reduce((a, b) => a + b, 0);
      const col = this.confusion.reduce((a, r) => a + r[i], 0);
      hits += tp;
      total += row;
      f1Sum += row + col === 0 ? 0 : (2 * tp) / (row + col);
    }
    return {
      accuracy: total ? hits / total : 0,
      macroF1: k ? f1Sum / k : 0,
      classes: this.classes,
      confusion: this.confusion,
    };
  }
}

export class RegressionCounter {
  private sq = 0;
  private abs = 0;
  private n = 0;

  /** Standardised predictions and targets [n, 1]; `std` converts back to the target's units. */
  constructor(private readonly std: number) {}

  add(pred: Tensor, target: Tensor): void {
    const p = pred.data as Float32Array;
    const t = target.data as Float32Array;
    for (let i = 0; i < p.length; i++) {
      const d = (p[i] - t[i]) * this.std;
      this.sq += d * d;
      this.abs += Math.abs(d);
      this.n++;
    }
  }

  result(): RegressionMetrics {
    return { rmse: Math.sqrt(this.sq / Math.max(1, this.n)), mae: this.abs / Math.max(1, this.n) };
  }
}
