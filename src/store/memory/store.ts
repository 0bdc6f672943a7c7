/**
 * A whole `Store` in memory: for tests and single-process development, never chosen by
 * configuration (`openMemoryStore` in ./index.ts makes one). `peer()` gives a second handle on the
 * same data, as a second connection to one SQLite file would be: the conformance suites race two.
 */
import type { Store } from '../ports';
import type { TenancyStores } from '../tenancy/ports';
import { MemoryDatasets } from './datasets';
import { MemoryModels } from './models';
import { MemoryTrainings } from './training';
import { MemoryWorkItems } from './work-items';

export class MemoryStore implements Store {
  readonly models = new MemoryModels();
  readonly datasets = new MemoryDatasets();
  readonly trainings = new MemoryTrainings();
  readonly workItems = new MemoryWorkItems();

  constructor(readonly tenancy: TenancyStores) {}

  /** Another handle on the same repositories (closing either leaves the data to the other). */
  peer(): Store {
    return { ...this.repositories(), close: async () => {} };
  }

  private repositories(): Omit<Store, 'close'> {
    const { models, tenancy, datasets, trainings, workItems } = this;
    return { models, tenancy, datasets, trainings, workItems };
  }

  /** Idempotent; the data goes with the last handle that references it (garbage collection). */
  async close(): Promise<void> {}
}
