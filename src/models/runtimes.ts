/**
 * Family name → task runtime factory. One row per family; duplicates are refused. Families add a
 * row with `registerRuntime` from their own module, imported in `src/models/index.ts`.
 */
import type { RuntimeFactory } from './task';

const factories = new Map<string, RuntimeFactory>();

export function registerRuntime(family: string, factory: RuntimeFactory): void {
  if (factories.has(family)) throw new Error(`a runtime for family '${family}' is already registered`);
  factories.set(family, factory);
}

export function runtimeFor(family: string): RuntimeFactory | undefined {
  return factories.get(family);
}
