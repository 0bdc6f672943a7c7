/**
 * The op table: one row per op (shape rule, ONNX emission, gradient rule), duplicates rejected.
 * Families of ops live in their own files and are collected in `ops/index.ts`.
 */
import { engineFail } from '../errors';
import type { OpSpec } from '../ir/types';
import { type AttributeDeclaration, opAttributes } from './attributes';

export class OpRegistry {
  private readonly table = new Map<string, OpSpec>();

  constructor(specs: readonly OpSpec[] = []) {
    for (const s of specs) this.add(s);
  }

  /** Register an op; its attributes come with it or from `ops/attributes.ts`, one or the other. */
  add(spec: OpSpec): this {
    if (this.table.has(spec.name)) engineFail('duplicate', `op '${spec.name}' is already registered`);
    const attributes = spec.attributes ?? (opAttributes as Record<string, AttributeDeclaration>)[spec.name];
    if (!attributes)
      engineFail(
        'invalid_attribute',
        `op '${spec.name}' declares no attributes (add its row to ops/attributes.ts)`,
      );
    this.table.set(spec.name, { ...spec, attributes });
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
