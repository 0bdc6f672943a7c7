/**
 * In-memory adapter of the dataset repository port (src/store/training-ports.ts), faithful to
 * SqliteDatasets (src/store/sqlite/training.ts). Records are cloned on the way in and out.
 */
import { fail } from '../../common/errors';
import type { DatasetRecord, DatasetRepository, NewDataset } from '../training-ports';
import { byteOrder, isoNow, rowKey } from './order';

export class MemoryDatasets implements DatasetRepository {
  private readonly rows = new Map<string, DatasetRecord>();

  async create(d: NewDataset): Promise<DatasetRecord> {
    const key = rowKey(d.owner, d.name);
    // The same message as the SQLite adapter's primary-key conflict on (owner, name).
    if (this.rows.has(key)) fail('conflict', `dataset '${d.name}' already exists`);
    const record: DatasetRecord = { ...structuredClone(d), createdAt: isoNow() };
    this.rows.set(key, record);
    return structuredClone(record);
  }

  async get(owner: string, name: string): Promise<DatasetRecord | null> {
    const row = this.rows.get(rowKey(owner, name));
    return row ? structuredClone(row) : null;
  }

  async list(owner: string): Promise<DatasetRecord[]> {
    return [...this.rows.values()]
      .filter((d) => d.owner === owner)
      .sort((a, b) => byteOrder(a.name, b.name))
      .map((d) => structuredClone(d));
  }

  async delete(owner: string, name: string): Promise<DatasetRecord | null> {
    const key = rowKey(owner, name);
    const row = this.rows.get(key);
    if (!row) return null;
    this.rows.delete(key);
    return row;
  }

  async referencedDigests(): Promise<Set<string>> {
    return new Set([...this.rows.values()].map((d) => d.digest));
  }
}
