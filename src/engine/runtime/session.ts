/**
 * The ONLY module that imports onnxruntime-node. Everything above the engine runs models through
 * `EngineSession`, in plain `Tensor`s.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { fuseProjections } from '../onnx/fuse';
import type { Tensor, TensorDType } from './tensor';
import { isTensorDType } from './tensor';

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/** Threads inside one op when a session does not say: this platform is sized for 2-core machines. */
export const DEFAULT_INTRA_OP_THREADS = 2;

export interface SessionOptions {
  /** Threads inside one op. Default 2: this platform is sized for 2-core machines. */
  intraOpThreads?: number;
  /** Threads across independent ops; 1 keeps a 2-core machine from oversubscribing. */
  interOpThreads?: number;
  /** `extended` suits training graphs; `all` suits inference graphs (see docs/engine.md). */
  graphOptimization?: GraphOptimization;
  /**
   * Let idle intra-op threads spin (busy-wait) between ops; ORT's default is true. Spinning saves
   * microseconds per op on an idle machine but burns a core that another process needs: on a loaded
   * 2-core machine `false` keeps throughput steady (measured in bench/: see bench/README.md).
   * Default false here: maas shares its cores between serving, training jobs and the API.
   */
  allowSpinning?: boolean;
  /**
   * With `allowSpinning`: the intra-op threads stop spinning as soon as a run returns (ORT's
   * `session.force_spinning_stop`) and spin again on the next run. They then busy-wait only between
   * the ops of one run, never in the gaps between runs (a decode loop's sampling, an idle server).
   */
  spinOnlyWhileRunning?: boolean;
  /**
   * With `allowSpinning`: how long (µs) an idle intra-op thread spins for the next piece of work
   * before it sleeps (ORT's `session.intra_op.spin_duration_us`). Unset: ORT's own bound, a fixed
   * count of pause instructions, tens of ms on recent x86 cores.
   */
  spinMicros?: number;
  /**
   * Fuse the projections that share an input (q/k/v, SwiGLU's gate/up) into one MatMul + Split
   * when loading (src/engine/onnx/fuse.ts; the stored file is not changed). Same outputs, fewer
   * and wider MatMuls: less CPU per decode step. Default false; serving turns it on.
   */
  fuseProjections?: boolean;
}

export interface ValueSignature {
  name: string;
  /** `null` when the value is not a tensor or has a dtype maas cannot carry (e.g. string). */
  dtype: TensorDType | null;
  /** Numbers for fixed dims, strings for symbolic ones (`'batch'`), -1 when unknown. */
  shape: (number | string)[];
}

export class EngineSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: ValueSignature[],
    readonly outputs: ValueSignature[],
  ) {}

  /** Load a model from its bytes or a file path. */
  static async create(model: Uint8Array | string, options: SessionOptions = {}): Promise<EngineSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads ?? DEFAULT_INTRA_OP_THREADS,
      interOpNumThreads: options.interOpThreads ?? 1,
      graphOptimizationLevel: options.graphOptimization ?? 'all',
      executionMode: 'sequential',
    };
    // The Node binding flattens `extra` into session config entries: session.intra_op.allow_spinning.
    const spin = options.allowSpinning ?? false;
    const stopAfterRun = spin && options.spinOnlyWhileRunning ? { force_spinning_stop: '1' } : {};
    const bound =
      spin && options.spinMicros !== undefined ? { spin_duration_us: String(options.spinMicros) } : {};
    sessionOptions.extra = {
      session: { intra_op: { allow_spinning: spin ? '1' : '0', ...bound }, ...stopAfterRun },
    };
    const source = options.fuseProjections ? await fused(model) : model;
    const session =
      typeof source === 'string'
        ? await ort.InferenceSession.create(source, sessionOptions)
        : await ort.InferenceSession.create(source, sessionOptions);
    return new EngineSession(session, describe(session.inputMetadata), describe(session.outputMetadata));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Run once. `outputs` selects which outputs to fetch (default: all). */
  async run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    const result = outputs
      ? await this.session.run(ortFeeds, outputs as string[])
      : await this.session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = fromOrt(value);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The model with its projections fused, or as given when there is nothing to fuse or the rewrite
 * cannot read the graph (the stored graph passed the upload checks and serves unfused).
 */
async function fused(model: Uint8Array | string): Promise<Uint8Array | string> {
  const bytes = typeof model === 'string' ? await readFile(model) : model;
  try {
    return fuseProjections(bytes)?.model ?? model;
  } catch {
    return model;
  }
}

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data, t.dims as number[]);
}

function fromOrt(value: ort.Tensor): Tensor {
  if (!isTensorDType(value.type)) throw new TypeError(`unsupported output dtype ${value.type}`);
  return { dtype: value.type, dims: [...value.dims], data: value.data as Tensor['data'] };
}

function describe(meta: readonly ort.InferenceSession.ValueMetadata[]): ValueSignature[] {
  return meta.map((m) =>
    m.isTensor
      ? {
          name: m.name,
          dtype: isTensorDType(m.type) ? m.type : null,
          shape: m.shape.map((d) => (typeof d === 'number' ? d : d || -1)),
        }
      : { name: m.name, dtype: null, shape: [] },
  );
}
