/**
 * The SQLite adapter of the store ports (better-sqlite3; the only module that imports it).
 * WAL mode so readers never block the writer, a busy timeout so a second process waits instead of
 * failing, foreign keys on, and versioned migrations applied at open.
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fail } from '../../common/errors';
import {
  LATEST_ALIAS,
  type ModelPatch,
  type ModelRecord,
  type ModelRepository,
  type NewModel,
  type NewVersion,
  type Store,
  type VersionRecord,
} from '../ports';
import type { TenancyStores } from '../tenancy/ports';
import type { DatasetRepository, TrainingRepository } from '../training-ports';
import type { WorkItemRepository } from '../work-ports';
import { type Migration, migrations } from './migrations';
import { prepared } from './prepared';
import { sqliteTenancyStores } from './tenancy';
import { SqliteDatasets, SqliteTrainings } from './training';
import { SqliteWorkItems } from './work-items';

export interface SqliteOptions {
  /** Database file, or `:memory:`. */
  path: string;
  /** How long a writer waits for a lock held by another connection (ms). */
  busyTimeoutMs?: number;
}

interface ModelRow {
  owner: string;
  name: string;
  task: string | null;
  description: string | null;
  serving_json: string;
  public: number;
  created_at: string;
  updated_at: string;
}

interface VersionRow {
  owner: string;
  model: string;
  version: number;
  digest: string;
  size_bytes: number;
  signature_json: string;
  metadata_json: string;
  created_at: string;
}

const toModel = (r: ModelRow): ModelRecord => ({
  owner: r.owner,
  name: r.name,
  task: r.task,
  description: r.description,
  serving: JSON.parse(r.serving_json),
  public: r.public === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toVersion = (r: VersionRow): VersionRecord => ({
  owner: r.owner,
  model: r.model,
  version: r.version,
  digest: r.digest,
  sizeBytes: r.size_bytes,
  signature: JSON.parse(r.signature_json),
  metadata: JSON.parse(r.metadata_json),
  createdAt: r.created_at,
});

/** Millisecond ISO timestamps sort correctly as text. */
const now = (): string => new Date().toISOString();

export function applyMigrations(db: Database.Database, list: readonly Migration[] = migrations): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  let count = 0;
  for (const m of list) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, now());
    })();
    count++;
  }
  return count;
}

class SqliteModels implements ModelRepository {
  constructor(private readonly db: Database.Database) {}

  private insertModel(m: NewModel): ModelRecord {
    const t = now();
    try {
      prepared(
        this.db,
        'INSERT INTO models (owner, name, task, description, serving_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(m.owner, m.name, m.task ?? null, m.description ?? null, JSON.stringify(m.serving ?? {}), t, t);
    } catch (e) {
      if (String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) {
        fail('conflict', `model '${m.name}' already exists`);
      }
      throw e;
    }
    return this.modelRow(m.owner, m.name)!;
  }

  private modelRow(owner: string, name: string): ModelRecord | null {
    const row = prepared(this.db, 'SELECT * FROM models WHERE owner = ? AND name = ?').get(owner, name) as
      | ModelRow
      | undefined;
    return row ? toModel(row) : null;
  }

  async createModel(m: NewModel): Promise<ModelRecord> {
    return this.insertModel(m);
  }

  async getModel(owner: string, name: string): Promise<ModelRecord | null> {
    return this.modelRow(owner, name);
  }

  async listModels(owner: string): Promise<ModelRecord[]> {
    const rows = prepared(this.db, 'SELECT * FROM models WHERE owner = ? ORDER BY name').all(
      owner,
    ) as ModelRow[];
    return rows.map(toModel);
  }

  async listPublicModels(exceptOwner: string): Promise<ModelRecord[]> {
    const rows = prepared(
      this.db,
      'SELECT * FROM models WHERE public = 1 AND owner != ? ORDER BY owner, name',
    ).all(exceptOwner) as ModelRow[];
    return rows.map(toModel);
  }

  async updateModel(owner: string, name: string, patch: ModelPatch): Promise<ModelRecord> {
    const current = this.modelRow(owner, name) ?? fail('not_found', `model '${name}' not found`);
    const next = { ...current, ...patch };
    prepared(
      this.db,
      'UPDATE models SET task = ?, description = ?, serving_json = ?, public = ?, updated_at = ? WHERE owner = ? AND name = ?',
    ).run(next.task, next.description, JSON.stringify(next.serving), next.public ? 1 : 0, now(), owner, name);
    return this.modelRow(owner, name)!;
  }

  async deleteModel(owner: string, name: string): Promise<VersionRecord[] | null> {
    return this.db.transaction(() => {
      if (!this.modelRow(owner, name)) return null;
      const versions = this.versionRows(owner, name);
      prepared(this.db, 'DELETE FROM models WHERE owner = ? AND name = ?').run(owner, name);
      return versions;
    })();
  }

  private versionRows(owner: string, model: string): VersionRecord[] {
    const rows = prepared(
      this.db,
      'SELECT * FROM versions WHERE owner = ? AND model = ? ORDER BY version',
    ).all(owner, model) as VersionRow[];
    return rows.map(toVersion);
  }

  private moveLatest(owner: string, model: string): void {
    prepared(this.db, 'DELETE FROM aliases WHERE owner = ? AND model = ? AND alias = ?').run(
      owner,
      model,
      LATEST_ALIAS,
    );
    prepared(
      this.db,
      `INSERT INTO aliases (owner, model, alias, version)
         SELECT owner, model, ?, MAX(version) FROM versions WHERE owner = ? AND model = ? GROUP BY owner, model`,
    ).run(LATEST_ALIAS, owner, model);
  }

  async addVersion(v: NewVersion, createModel?: NewModel): Promise<VersionRecord> {
    try {
      return this.insertVersion(v, createModel);
    } catch (e) {
      if (v.job && (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        fail('conflict', `model '${v.model}' already has the version of training job '${v.job}'`);
      throw e;
    }
  }

  private insertVersion(v: NewVersion, createModel?: NewModel): VersionRecord {
    return this.db.transaction(() => {
      if (!this.modelRow(v.owner, v.model)) {
        if (!createModel) fail('not_found', `model '${v.model}' not found`);
        this.insertModel(createModel);
      }
      const { next_version: version } = prepared(
        this.db,
        'SELECT next_version FROM models WHERE owner = ? AND name = ?',
      ).get(v.owner, v.model) as { next_version: number };
      prepared(
        this.db,
        `INSERT INTO versions (owner, model, version, digest, size_bytes, signature_json, metadata_json, created_at, source_job)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        v.owner,
        v.model,
        version,
        v.digest,
        v.sizeBytes,
        JSON.stringify(v.signature),
        JSON.stringify(v.metadata ?? {}),
        now(),
        v.job ?? null,
      );
      prepared(
        this.db,
        'UPDATE models SET next_version = ?, updated_at = ? WHERE owner = ? AND name = ?',
      ).run(version + 1, now(), v.owner, v.model);
      this.moveLatest(v.owner, v.model);
      return this.versionRow(v.owner, v.model, version)!;
    })();
  }

  private versionRow(owner: string, model: string, version: number): VersionRecord | null {
    const row = prepared(this.db, 'SELECT * FROM versions WHERE owner = ? AND model = ? AND version = ?').get(
      owner,
      model,
      version,
    ) as VersionRow | undefined;
    return row ? toVersion(row) : null;
  }

  async getVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    return this.versionRow(owner, model, version);
  }

  async listVersions(owner: string, model: string): Promise<VersionRecord[]> {
    return this.versionRows(owner, model);
  }

  async deleteVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    return this.db.transaction(() => {
      const row = this.versionRow(owner, model, version);
      if (!row) return null;
      prepared(this.db, 'DELETE FROM versions WHERE owner = ? AND model = ? AND version = ?').run(
        owner,
        model,
        version,
      );
      this.moveLatest(owner, model);
      return row;
    })();
  }

  async setAlias(owner: string, model: string, alias: string, version: number): Promise<void> {
    if (!this.versionRow(owner, model, version))
      fail('not_found', `model '${model}' has no version ${version}`);
    prepared(
      this.db,
      'INSERT OR REPLACE INTO aliases (owner, model, alias, version) VALUES (?, ?, ?, ?)',
    ).run(owner, model, alias, version);
  }

  async deleteAlias(owner: string, model: string, alias: string): Promise<boolean> {
    const r = prepared(this.db, 'DELETE FROM aliases WHERE owner = ? AND model = ? AND alias = ?').run(
      owner,
      model,
      alias,
    );
    return r.changes > 0;
  }

  async resolveAlias(owner: string, model: string, alias: string): Promise<number | null> {
    const row = prepared(
      this.db,
      'SELECT version FROM aliases WHERE owner = ? AND model = ? AND alias = ?',
    ).get(owner, model, alias) as { version: number } | undefined;
    return row ? row.version : null;
  }

  async listAliases(owner: string, model: string): Promise<Record<string, number>> {
    const rows = prepared(
      this.db,
      'SELECT alias, version FROM aliases WHERE owner = ? AND model = ? ORDER BY alias',
    ).all(owner, model) as { alias: string; version: number }[];
    return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
  }

  async referencedDigests(): Promise<Set<string>> {
    // A folder version (an uploaded Hugging Face folder) also holds the files its metadata lists:
    // `metadata.files: [{path, digest, sizeBytes}]`.
    const rows = prepared(
      this.db,
      `SELECT digest FROM versions
       UNION SELECT json_extract(f.value, '$.digest') AS digest
         FROM versions v, json_each(v.metadata_json, '$.files') f
         WHERE json_type(v.metadata_json, '$.files') = 'array'`,
    ).all() as { digest: string | null }[];
    return new Set(rows.flatMap((r) => (typeof r.digest === 'string' ? [r.digest] : [])));
  }
}

export class SqliteStore implements Store {
  readonly models: ModelRepository;
  readonly tenancy: TenancyStores;
  readonly datasets: DatasetRepository;
  readonly trainings: TrainingRepository;
  readonly workItems: WorkItemRepository;
  private closed = false;

  private constructor(private readonly db: Database.Database) {
    this.models = new SqliteModels(db);
    this.tenancy = sqliteTenancyStores(db);
    this.datasets = new SqliteDatasets(db);
    this.trainings = new SqliteTrainings(db);
    this.workItems = new SqliteWorkItems(db);
  }

  static open(options: SqliteOptions): SqliteStore {
    // Owner-only (0600), whatever the umask: the database holds key hashes, audit and usage.
    // SQLite gives its -wal and -shm files the database file's mode.
    if (options.path !== ':memory:' && !options.path.startsWith('file:')) {
      closeSync(openSync(options.path, 'a', 0o600));
      chmodSync(options.path, 0o600);
    }
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    applyMigrations(db);
    return new SqliteStore(db);
  }

  /** Diagnostics for tests and /metrics: journal mode and applied schema version. */
  info(): { journalMode: string; schemaVersion: number } {
    const journalMode = String(this.db.pragma('journal_mode', { simple: true }));
    const row = prepared(this.db, 'SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number };
    return { journalMode, schemaVersion: row.v };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
