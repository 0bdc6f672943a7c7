/**
 * What an importer row (`import-ops.ts`, `import-rnn.ts`) may ask of the ONNX node it imports,
 * apart from the rows so that row files need not import one another.
 */
import type { GraphBuilder, Value } from '../ir/types';
import type { TensorDType } from '../runtime/tensor';
import type { OnnxNode } from './import-proto';

/** What a row may ask of the node it imports. */
export interface NodeImport {
  readonly g: GraphBuilder;
  readonly node: OnnxNode;
  /** The opset version of the node's domain. */
  readonly opset: number;
  /** Whether input `i` is given (optional inputs may be absent or named ''). */
  has(i: number): boolean;
  /** Input `i` as a graph value (a known value becomes a constant, of `dtype` when given). */
  x(i: number, dtype?: TensorDType): Value;
  /** Input `i` known at import time as integers (or attribute `attr` when the input is absent). */
  ints(i: number, attr?: string): number[] | undefined;
  /** Input `i` known at import time as one number, or attribute `attr`, or `fallback`. */
  num(i: number, attr: string, fallback?: number): number | undefined;
  int(attr: string, fallback: number): number;
  float(attr: string, fallback: number): number;
  str(attr: string, fallback: string): string;
  attrInts(attr: string): number[] | undefined;
  /** Whether output `i` is read by another node or is a graph output. */
  used(i: number): boolean;
  /** The dtype float32 values take in this import (float64 for gradient checks). */
  floatType: TensorDType;
  refuse(reason: string): never;
}

/** One ONNX op type → IR values, one per ONNX output (a hole where an unread output is not built). */
export type ImportRow = (c: NodeImport) => Value[];
