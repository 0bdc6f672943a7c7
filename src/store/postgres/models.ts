/**
 * PostgreSQL adapter of the model registry port (models, versions, aliases). Same behaviour as
 * `../sqlite/store.ts`; concurrency comes from row locks: every write that changes a model's
 * versions first locks the model's row, so version numbers and the `latest` alias are decided by
 * one writer at a time, across processes.
 */
import type pg from 'pg';
import { fail } from '../../common/errors';
import {
  LATEST_ALIAS,
  type ModelPatch,
  type ModelRecord,
  type ModelRepository,
  type ModelSignature,
  type NewModel,
  type NewVersion,
  type ServingSettings,
  type VersionRecord,
} from '../ports';
import { type Db, isForeignKeyViolation, isUniqueViolation, nowIso, type Queryable, transaction } from './db';

interface ModelRow {
  owner: string;
  name: string;
  task: string | null;
  description: string | null;
  serving_json: ServingSettings;
  public: boolean;
  created_at: string;
  updated_at: string;
}

interface VersionRow {
  owner: string;
  model: string;
  version: number;
  digest: string;
  size_bytes: number;
  signature_json: ModelSignature;
  metadata_json: Record<string, unknown>;
  created_at: string;
}

const toModel = (r: ModelRow): ModelRecord => ({
  owner: r.owner,
  name: r.name,
  task: r.task,
  description: r.description,
  serving: r.serving_json,
  public: r.public,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toVersion = (r: VersionRow): VersionRecord => ({
  owner: r.owner,
  model: r.model,
  version: r.version,
  digest: r.digest,
  sizeBytes: r.size_bytes,
  signature: r.signature_json,
  metadata: r.metadata_json,
  createdAt: r.created_at,
});

const MODEL_COLUMNS = 'owner, name, task, description, serving_json, public, created_at, updated_at';

export class PostgresModels implements ModelRepository {
  constructor(private readonly db: Db) {}

  private async modelRow(
    q: Queryable,
    owner: string,
    name: string,
    lock = false,
  ): Promise<ModelRecord | null> {
    const { rows } = await q.query<ModelRow>(
      `SELECT ${MODEL_COLUMNS} FROM models WHERE owner = $1 AND name = $2${lock ? ' FOR UPDATE' : ''}`,
      [owner, name],
    );
    return rows[0] ? toModel(rows[0]) : null;
  }

  /** Inserts the model; `ifAbsent` makes an existing one a no-op instead of a conflict. */
  private async insertModel(q: Queryable, m: NewModel, ifAbsent = false): Promise<void> {
    const t = nowIso();
    try {
      await q.query(
        `INSERT INTO models (owner, name, task, description, serving_json, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6)${ifAbsent ? ' ON CONFLICT (owner, name) DO NOTHING' : ''}`,
        [m.owner, m.name, m.task ?? null, m.description ?? null, JSON.stringify(m.serving ?? {}), t],
      );
    } catch (e) {
      if (isUniqueViolation(e)) fail('conflict', `model '${m.name}' already exists`);
      throw e;
    }
  }

  async createModel(m: NewModel): Promise<ModelRecord> {
    await this.insertModel(this.db, m);
    return (await this.modelRow(this.db, m.owner, m.name))!;
  }

  async getModel(owner: string, name: string): Promise<ModelRecord | null> {
    return this.modelRow(this.db, owner, name);
  }

  async listModels(owner: string): Promise<ModelRecord[]> {
    const { rows } = await this.db.query<ModelRow>(
      `SELECT ${MODEL_COLUMNS} FROM models WHERE owner = $1 ORDER BY name`,
      [owner],
    );
    return rows.map(toModel);
  }

  async listPublicModels(exceptOwner: string): Promise<ModelRecord[]> {
    const { rows } = await this.db.query<ModelRow>(
      `SELECT ${MODEL_COLUMNS} FROM models WHERE public AND owner <> $1 ORDER BY owner, name`,
      [exceptOwner],
    );
    return rows.map(toModel);
  }

  async updateModel(owner: string, name: string, patch: ModelPatch): Promise<ModelRecord> {
    return transaction(this.db, async (c) => {
      const current =
        (await this.modelRow(c, owner, name, true)) ?? fail('not_found', `model '${name}' not found`);
      const next = { ...current, ...patch };
      await c.query(
        'UPDATE models SET task = $1, description = $2, serving_json = $3, public = $4, updated_at = $5 WHERE owner = $6 AND name = $7',
        [next.task, next.description, JSON.stringify(next.serving), next.public, nowIso(), owner, name],
      );
      return (await this.modelRow(c, owner, name))!;
    });
  }

  async deleteModel(owner: string, name: string): Promise<VersionRecord[] | null> {
    return transaction(this.db, async (c) => {
      if (!(await this.modelRow(c, owner, name, true))) return null;
      const versions = await this.versionRows(c, owner, name);
      await c.query('DELETE FROM models WHERE owner = $1 AND name = $2', [owner, name]);
      return versions;
    });
  }

  private async versionRows(q: Queryable, owner: string, model: string): Promise<VersionRecord[]> {
    const { rows } = await q.query<VersionRow>(
      'SELECT * FROM versions WHERE owner = $1 AND model = $2 ORDER BY version',
      [owner, model],
    );
    return rows.map(toVersion);
  }

  private async versionRow(
    q: Queryable,
    owner: string,
    model: string,
    version: number,
  ): Promise<VersionRecord | null> {
    const { rows } = await q.query<VersionRow>(
      'SELECT * FROM versions WHERE owner = $1 AND model = $2 AND version = $3',
      [owner, model, version],
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** Points `latest` at the newest version (removes it when none is left). Caller holds the model lock. */
  private async moveLatest(c: pg.PoolClient, owner: string, model: string): Promise<void> {
    await c.query('DELETE FROM aliases WHERE owner = $1 AND model = $2 AND alias = $3', [
      owner,
      model,
      LATEST_ALIAS,
    ]);
    await c.query(
      `INSERT INTO aliases (owner, model, alias, version)
         SELECT owner, model, $3, MAX(version) FROM versions WHERE owner = $1 AND model = $2 GROUP BY owner, model`,
      [owner, model, LATEST_ALIAS],
    );
  }

  async addVersion(v: NewVersion, createModel?: NewModel): Promise<VersionRecord> {
    try {
      return await this.insertVersion(v, createModel);
    } catch (e) {
      if (v.job && isUniqueViolation(e))
        fail('conflict', `model '${v.model}' already has the version of training job '${v.job}'`);
      throw e;
    }
  }

  private insertVersion(v: NewVersion, createModel?: NewModel): Promise<VersionRecord> {
    return transaction(this.db, async (c) => {
      // Two uploads creating the same model together: the second waits for the first and skips.
      if (createModel) await this.insertModel(c, createModel, true);
      // Taking the next number locks the model's row until COMMIT: concurrent uploads queue here.
      const { rows } = await c.query<{ version: number }>(
        `UPDATE models SET next_version = next_version + 1, updated_at = $3
           WHERE owner = $1 AND name = $2 RETURNING next_version - 1 AS version`,
        [v.owner, v.model, nowIso()],
      );
      if (!rows[0]) fail('not_found', `model '${v.model}' not found`);
      const { version } = rows[0];
      const inserted = await c.query<VersionRow>(
        `INSERT INTO versions (owner, model, version, digest, size_bytes, signature_json, metadata_json, created_at, source_job)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          v.owner,
          v.model,
          version,
          v.digest,
          v.sizeBytes,
          JSON.stringify(v.signature),
          JSON.stringify(v.metadata ?? {}),
          nowIso(),
          v.job ?? null,
        ],
      );
      await this.moveLatest(c, v.owner, v.model);
      return toVersion(inserted.rows[0]!);
    });
  }

  async getVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    return this.versionRow(this.db, owner, model, version);
  }

  async listVersions(owner: string, model: string): Promise<VersionRecord[]> {
    return this.versionRows(this.db, owner, model);
  }

  async deleteVersion(owner: string, model: string, version: number): Promise<VersionRecord | null> {
    return transaction(this.db, async (c) => {
      if (!(await this.modelRow(c, owner, model, true))) return null;
      const row = await this.versionRow(c, owner, model, version);
      if (!row) return null;
      await c.query('DELETE FROM versions WHERE owner = $1 AND model = $2 AND version = $3', [
        owner,
        model,
        version,
      ]);
      await this.moveLatest(c, owner, model);
      return row;
    });
  }

  async setAlias(owner: string, model: string, alias: string, version: number): Promise<void> {
    // One statement: the version must exist when the row is written (no check-then-write gap);
    // a version deleted meanwhile fails the foreign key instead.
    const r = await this.db
      .query(
        `INSERT INTO aliases (owner, model, alias, version)
         SELECT owner, model, $3, version FROM versions WHERE owner = $1 AND model = $2 AND version = $4
       ON CONFLICT (owner, model, alias) DO UPDATE SET version = EXCLUDED.version`,
        [owner, model, alias, version],
      )
      .catch((e: unknown) => (isForeignKeyViolation(e) ? { rowCount: 0 } : Promise.reject(e)));
    if (r.rowCount === 0) fail('not_found', `model '${model}' has no version ${version}`);
  }

  async deleteAlias(owner: string, model: string, alias: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM aliases WHERE owner = $1 AND model = $2 AND alias = $3', [
      owner,
      model,
      alias,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  async resolveAlias(owner: string, model: string, alias: string): Promise<number | null> {
    const { rows } = await this.db.query<{ version: number }>(
      'SELECT version FROM aliases WHERE owner = $1 AND model = $2 AND alias = $3',
      [owner, model, alias],
    );
    return rows[0] ? rows[0].version : null;
  }

  async listAliases(owner: string, model: string): Promise<Record<string, number>> {
    const { rows } = await this.db.query<{ alias: string; version: number }>(
      'SELECT alias, version FROM aliases WHERE owner = $1 AND model = $2 ORDER BY alias',
      [owner, model],
    );
    return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
  }

  async referencedDigests(): Promise<Set<string>> {
    const { rows } = await this.db.query<{ digest: string }>('SELECT DISTINCT digest FROM versions');
    return new Set(rows.map((r) => r.digest));
  }
}
