/** Messages between the zoo service (parent) and its trainer child process, over Node IPC. */
import type { ZooQuality } from '../../models/zoo/index';
import type { ZooScale } from '../zoo';

/** Train one zoo row; the child answers `progress`* then `trained` or `failed`, and waits for the next. */
export interface ZooTrainRequest {
  type: 'train';
  name: string;
  seed: number;
  scale: ZooScale;
  /** Folder the child writes `<name>.onnx` into (the service's scratch folder). */
  dir: string;
  /** Nice value the child gives every thread it has (Linux: priority is per thread). */
  nice: number;
}

export type ZooParentMessage = ZooTrainRequest;

export type ZooWorkerMessage =
  | { type: 'progress'; name: string; line: string }
  | {
      type: 'trained';
      name: string;
      /** The exported inference ONNX, inside `dir`. */
      onnxFile: string;
      metadata: Record<string, unknown>;
      quality: ZooQuality;
      seconds: number;
    }
  | { type: 'failed'; name: string; message: string };
