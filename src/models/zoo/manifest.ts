/**
 * The model zoo: the default models maas trains for itself from package data, reproducibly
 * (seeded). One row per model; `registerZooEntry` refuses duplicates. Families add their rows from
 * their own module under src/models/zoo/ (language.ts holds gpt, lstm-lm, word2vec) and
 * src/models/zoo/index.ts imports them all.
 */
import { fail } from '../../common/errors';

export interface ZooQuality {
  /** What `value` measures, e.g. `validation_bits_per_char`, `test_accuracy`. */
  metric: string;
  value: number;
  /** The bar the zoo promises (docs/zoo.md), when there is one. */
  target?: number;
  /** true when larger values are better (accuracy), false for losses. */
  higherIsBetter: boolean;
  /** Extra figures worth printing (baselines, neighbours, sample text). */
  details?: Record<string, unknown>;
}

export interface ZooArtifact {
  onnx: Uint8Array;
  /** Stored with the model version: `family`, `task`, tokenizer spec, labels, ... */
  metadata: Record<string, unknown>;
  quality: ZooQuality;
}

export interface ZooTrainContext {
  seed: number;
  /** One line of progress (steps, loss, throughput) for a console or a job's events. */
  log: (line: string) => void;
  /** `quick` trains a tiny version in seconds (smoke tests); `full` is the zoo's real size. */
  scale: 'full' | 'quick';
}

export interface ZooEntry {
  /** Public model name (validated like any model name). */
  name: string;
  family: string;
  task: string;
  seed: number;
  description: string;
  /**
   * Training time measured on an idle 2-core machine (seconds) at each scale: the first-start
   * queue orders rows by it and, scaled by the speed this machine shows on the rows it has
   * trained so far, gives ETAs before a row's first progress line.
   */
  expectedSeconds?: Record<ZooTrainContext['scale'], number>;
  /**
   * Where a first start's queue puts this row: lower ranks first (default 1), cheapest first
   * within a rank. gpt is 0 (chat users wait for it); rows on optional data packages are 2.
   */
  queueRank?: number;
  /**
   * Zoo rows of the same metric this row promises to beat (gpt: `lstm-lm`). A bar that depends on
   * another trained model cannot be a fixed `target`; it is judged when both are installed.
   */
  mustBeat?: readonly string[];
  /**
   * Whether this machine has what the row trains on (its data package). Absent: always. A row
   * that is not available is never queued or trained; listings show `unavailableHint` instead.
   */
  available?: () => boolean;
  /** What makes an unavailable row available, for people: `apt-get install dataset-fashion-mnist`. */
  unavailableHint?: string;
  train(ctx: ZooTrainContext): Promise<ZooArtifact>;
}

const entries = new Map<string, ZooEntry>();

export function registerZooEntry(entry: ZooEntry): void {
  if (entries.has(entry.name)) fail('conflict', `zoo entry '${entry.name}' is already registered`);
  entries.set(entry.name, entry);
}

/** Every registered entry, in registration order. */
export function zooEntries(): ZooEntry[] {
  return [...entries.values()];
}

export function zooEntry(name: string): ZooEntry {
  const e = entries.get(name);
  if (!e) fail('not_found', `no zoo entry '${name}'; known: ${[...entries.keys()].join(', ')}`);
  return e;
}

/**
 * Why `entry` cannot be trained here, as one line ("unavailable: apt-get install
 * dataset-fashion-mnist"), or null when it can.
 */
export function zooUnavailable(entry: ZooEntry): string | null {
  if (!entry.available || entry.available()) return null;
  return `unavailable: ${entry.unavailableHint ?? 'its data is not installed on this machine'}`;
}

/** Whether `q` is better than `rival` (strictly: a tie does not beat). */
export function beats(q: ZooQuality, rival: ZooQuality): boolean {
  return q.higherIsBetter ? q.value > rival.value : q.value < rival.value;
}

/** Whether a quality figure meets its target (true when there is no target). */
export function meetsTarget(q: ZooQuality): boolean {
  if (q.target === undefined) return true;
  return q.higherIsBetter ? q.value >= q.target : q.value <= q.target;
}
