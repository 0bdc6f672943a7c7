/** A table that refuses duplicate names: benchmarks and contenders are added as rows. */
export class Registry<T extends { name: string }> {
  readonly #rows = new Map<string, T>();

  constructor(readonly kind: string) {}

  add(row: T): this {
    if (this.#rows.has(row.name)) throw new Error(`duplicate ${this.kind}: ${row.name}`);
    this.#rows.set(row.name, row);
    return this;
  }

  get(name: string): T {
    const row = this.#rows.get(name);
    if (!row) throw new Error(`unknown ${this.kind} "${name}"; known: ${this.names().join(', ')}`);
    return row;
  }

  names(): string[] {
    return [...this.#rows.keys()];
  }

  all(): T[] {
    return [...this.#rows.values()];
  }
}
