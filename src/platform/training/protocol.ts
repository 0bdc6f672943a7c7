/** Messages between the training service (parent) and a trainer child process, over Node IPC. */
import type { DatasetSource, FeatureSpec } from '../../data/index';
import type { Hyperparameters } from '../../models/families/index';
import type { BaseModel, DecoderBase } from './base-model';

export interface WorkerJob {
  id: string;
  family: string;
  source: DatasetSource;
  target: string | null;
  hyperparameters: Hyperparameters;
  /** The job's own folder (checkpoint, exported model, result). */
  dir: string;
  /** ORT threads inside one op. */
  threads: number;
  /** Fine-tuning: the uploaded model to start from, its file on this machine. */
  base?: BaseModel & { file: string };
  /**
   * LoRA: the decoder folder to start from, on this machine (a gpt base: its graph file and
   * metadata, written out as a folder by the trainer), and the validation chats.
   */
  decoder?: DecoderBase & { folder: string } & { gptFile?: string; gptMetadata?: Record<string, unknown> };
  validation?: DatasetSource;
}

export interface TrainingOutcome {
  /** The exported inference ONNX, inside the job folder. */
  onnxFile: string;
  /** The feature spec of a classifier or regressor (none for a LoRA-tuned decoder folder). */
  spec?: FeatureSpec;
  task: 'classification' | 'regression' | 'text-generation';
  metrics: Record<string, unknown>;
  lossCurve: { step: number; loss: number }[];
  validationCurve: { epoch: number; step: number; loss: number; metric: number }[];
  steps: number;
  epochs: number;
  paramCount: number;
  trainSeconds: number;
  /** Step the run resumed from (0: from scratch). */
  resumedFrom: number;
  /** Seconds in steps (batch gathering included), checkpoints, events, validation; counts. */
  timing: Record<string, number>;
}

export type ParentMessage = { type: 'start'; job: WorkerJob };

export type WorkerMessage =
  | { type: 'event'; event: string; data: Record<string, unknown> }
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; outcome: TrainingOutcome }
  | { type: 'failed'; code: string; message: string };
