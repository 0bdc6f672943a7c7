/**
 * The op table: one row per op (shape rule, ONNX emission, gradient rule), duplicates rejected.
 * Families of ops live in their own files and are collected in `ops/index.ts`.
 */
import { engineFail } from '../errors';
import type { OpSpec } from '../ir/types';

export class OpRegistry {
  private readonly table = new Map<string, OpSpec>();

  constructor(specs: readonly OpSpec[] = []) {
    for (const s of specs) this.add(s);
  }

  add(spec: OpSpec): this {
    if (this.table.has(spec.name)) engineFail('duplicate', `op '${spec.name}' is already registered`);
    this.table.set(spec.name, spec);
    return this;
  }

  get(name: string): OpSpec {
    const spec = this.table.get(name);
    if (!spec) engineFail('unknown_op', `unknown op '${name}'`);
    return spec;
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  names(): string[] {
    return [...this.table.keys()];
  }
}
