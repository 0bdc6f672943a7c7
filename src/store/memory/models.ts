/**
 * In-memory adapter of the model repository port (src/store/ports.ts), faithful to the SQLite
 * adapter (src/store/sqlite/store.ts). Every method runs to completion without awaiting, so each
 * is as atomic as one SQLite transaction; peers of a `MemoryStore` share one instance, as two
 * connections share one database file. Records are cloned on the way in and out.
 */
import { fail } from '../../common/errors';
import {
  LATEST_ALIAS,
  type ModelPatch,
  type ModelRecord,
  type ModelRepository,
  type NewModel,
  type NewVersion,
  type VersionRecord,
} from '../ports';
import { asJsonColumn, byteOrder, isoNow, rowKey } from './order';

interface StoredVersion {
  record: VersionRecord;
  /** The training job that registered it (SQLite's `source_job`); unique per model when set. */
  job: string | null;
}

interface StoredModel {
  record: ModelRecord;
  /** SQLite's `models.next_version`: numbers are never reused while the model exists. */
  nextVersion: number;
  versions: Map<number, StoredVersion>;
  aliases: Map<string, number>;
}

export class MemoryModels implements ModelRepository {
  private readonly rows = new Map<string, StoredModel>();

  private row(owner: string, name: string): StoredModel | undefined {
    return this.rows.get(rowKey(owner, name));
  }

  private insertModel(m: NewModel): StoredModel {
    // The same message as the SQLite adapter's primary-key conflict.
    if (this.row(m.owner, m.name)) fail('conflict', `model '${m.name}' already exists`);
    const t = isoNow();
    const stored: StoredModel = {
      record: {
        owner: m.owner,
        name: m.name,
        task: m.task ?? null,
        description: m.description ?? null,
        serving: asJsonColumn(m.serving ?? {}),
        public: false,
        createdAt: t,
        updatedAt: t,
      },
      nextVersion: 1,
      versions: new Map(),
      aliases: new Map(),
    };
    this.rows.set(rowKey(m.owner, m.name), stored);
    return stored;
  }

  async createModel(m: NewModel): Promise<ModelRecord> {
    return structuredClone(this.insertModel(m).record);
  }

  async getModel(owner: string, name: string): Promise<ModelRecord | null> {
    const row = this.row(owner, name);
    return row ? structuredClone(row.record) : null;
  }

  private models(keep: (m: ModelRecord) => boolean): ModelRecord[] {
    return [...this.rows.values()].map((r) => r.record).filter(keep);
  }

  async listModels(owner: string): Promise<ModelRecord[]> {
    return this.models((m) => m.owner === owner)
      .sort((a, b) => byteOrder(a.name, b.name))
      .map((m) => structuredClone(m));
  }

  async listPublicModels(exceptOwner: string): Promise<ModelRecord[]> {
    return this.models((m) => m.public && m.owner !== exceptOwner)
      .sort((a, b) => byteOrder(a.owner, b.owner) || byteOrder(a.name, b.name))
      .map((m) => structuredClone(m));
  }

  async updateModel(owner: string, name: string, patch: ModelPatch): Promise<ModelRecord> {
    const row = this.row(owner, name) ?? fail('not_found', `model '${name}' not found`);
    // Only the columns SQLite's UPDATE writes; an absent or undefined field keeps its value.
    const next = { ...row.record, updatedAt: isoNow() };
    if (patch.task !== undefined) next.task = patch.task;
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.serving !== undefined) next.serving = asJsonColumn(patch.serving);
    if (patch.public !== undefined) next.public = patch.public;
    row.record = next;
    return structuredClone(row.record);
  }

  async deleteModel(owner: string, name: string): Promise<VersionRecord[] | null> {
    const row = this.row(owner, name);
    if (!row) return null;
    // Versions and aliases go with the model (SQLite: ON DELETE CASCADE); a model created again
    // under the same name starts at version 1, as its `next_version` went with the row.
    this.rows.delete(rowKey(owner, name));
    return sortedVersions(row).map((v) => structuredClone(v.record));
  }

  async addVersion(v: NewVersion, createModel?: NewModel): Promise<VersionRecord> {
    const row =
      this.row(v.owner, v.model) ??
      (createModel ? this.insertModel(createModel) : fail('not_found', `model '${v.model}' not found`));
    if (v.job !== undefined && [...row.versions.values()].some((s) => s.job === v.job))
      fail('conflict', `model '${v.model}' already has the version of training job '${v.job}'`);
    const version = row.nextVersion;
    const record: VersionRecord = {
      owner: v.owner,
      model: v.model,
      version,
      digest: v.digest,
      sizeBytes: v.sizeBytes,
      signature: asJsonColumn(v.signature),
      metadata: asJsonColumn(v.metadata ?? {}),
      createdAt: isoNow(),
    };
    row.versions.set(version, { record, job: v.job ?? null });
    row.nextVersion = version + 1;
    row.record.updatedAt = isoNow();
    moveLatest(row);
    return structuredClone(record);
  }

  async getVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    const stored = this.row(owner, model)?.versions.get(version);
    return stored ? structuredClone(stored.record) : null;
  }

  async listVersions(owner: string, model: string): Promise<VersionRecord[]> {
    const row = this.row(owner, model);
    return row ? sortedVersions(row).map((v) => structuredClone(v.record)) : [];
  }

  async deleteVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    const row = this.row(owner, model);
    const stored = row?.versions.get(version);
    if (!row || !stored) return null;
    row.versions.delete(version);
    // The aliases pointing at it go with it (SQLite: ON DELETE CASCADE), then `latest` moves.
    for (const [alias, target] of row.aliases) if (target === version) row.aliases.delete(alias);
    moveLatest(row);
    return structuredClone(stored.record);
  }

  async setAlias(owner: string, model: string, alias: string, version: number): Promise<void> {
    const row = this.row(owner, model);
    if (!row?.versions.has(version)) fail('not_found', `model '${model}' has no version ${version}`);
    row.aliases.set(alias, version);
  }

  async deleteAlias(owner: string, model: string, alias: string): Promise<boolean> {
    return this.row(owner, model)?.aliases.delete(alias) ?? false;
  }

  async resolveAlias(owner: string, model: string, alias: string): Promise<number | null> {
    return this.row(owner, model)?.aliases.get(alias) ?? null;
  }

  async listAliases(owner: string, model: string): Promise<Record<string, number>> {
    const row = this.row(owner, model);
    if (!row) return {};
    return Object.fromEntries([...row.aliases].sort(([a], [b]) => byteOrder(a, b)));
  }

  async referencedDigests(): Promise<Set<string>> {
    const digests = new Set<string>();
    for (const row of this.rows.values())
      for (const { record } of row.versions.values()) {
        digests.add(record.digest);
        for (const digest of folderDigests(record.metadata)) digests.add(digest);
      }
    return digests;
  }
}

function sortedVersions(row: StoredModel): StoredVersion[] {
  return [...row.versions.values()].sort((a, b) => a.record.version - b.record.version);
}

/** `latest` names the highest remaining version, or nothing when none remains (as SQLite's moveLatest). */
function moveLatest(row: StoredModel): void {
  row.aliases.delete(LATEST_ALIAS);
  const highest = Math.max(...row.versions.keys());
  if (Number.isFinite(highest)) row.aliases.set(LATEST_ALIAS, highest);
}

/** A folder version's files (`metadata.files: [{path, digest, sizeBytes}]`): their string digests. */
function folderDigests(metadata: Record<string, unknown>): string[] {
  const files = metadata.files;
  if (!Array.isArray(files)) return [];
  return files.flatMap((f: unknown) => {
    const digest = typeof f === 'object' && f !== null ? (f as { digest?: unknown }).digest : undefined;
    return typeof digest === 'string' ? [digest] : [];
  });
}
