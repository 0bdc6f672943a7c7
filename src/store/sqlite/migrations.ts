/**
 * Versioned schema migrations. Append a row to add one; never edit an applied one. Each runs in a
 * transaction and is recorded in `schema_migrations`, so a restart applies only the new ones.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'registry',
    sql: `
      CREATE TABLE models (
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        task TEXT,
        description TEXT,
        serving_json TEXT NOT NULL DEFAULT '{}',
        next_version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (owner, name)
      );
      CREATE TABLE versions (
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        digest TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        signature_json TEXT NOT NULL,
        metadata_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, model, version),
        FOREIGN KEY (owner, model) REFERENCES models (owner, name) ON DELETE CASCADE
      );
      CREATE INDEX versions_digest ON versions (digest);
      CREATE TABLE aliases (
        owner TEXT NOT NULL,
        model TEXT NOT NULL,
        alias TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (owner, model, alias),
        FOREIGN KEY (owner, model, version) REFERENCES versions (owner, model, version) ON DELETE CASCADE
      );
    `,
  },
  {
    version: 2,
    name: 'training',
    sql: `
      CREATE TABLE datasets (
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        format TEXT NOT NULL,
        kind TEXT NOT NULL,
        description_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (owner, name)
      );
      CREATE TABLE training_jobs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        family TEXT NOT NULL,
        dataset TEXT NOT NULL,
        dataset_digest TEXT,
        target TEXT,
        model TEXT NOT NULL,
        hyperparameters_json TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until INTEGER NOT NULL DEFAULT 0,
        checkpoint_step INTEGER NOT NULL DEFAULT 0,
        result_json TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE INDEX training_jobs_owner ON training_jobs (owner, created_at);
      CREATE INDEX training_jobs_status ON training_jobs (status, created_at);
      CREATE TABLE training_events (
        job_id TEXT NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
      );
    `,
  },
];

/** Registry of migrations by version: rejects duplicates and gaps at import time. */
export function checkMigrations(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}
checkMigrations(migrations);
