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
    name: 'tenancy',
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        limits_json TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL
      );
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL,
        scopes_json TEXT NOT NULL,
        limits_json TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
      CREATE TABLE usage (
        tenant_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        units INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX usage_tenant_at ON usage (tenant_id, at);
      CREATE TABLE quota_usage (
        month TEXT NOT NULL,
        scope TEXT NOT NULL,
        id TEXT NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (month, scope, id)
      );
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL,
        actor_key_id TEXT NOT NULL,
        actor_tenant_id TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        target_tenant_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT
      );
      CREATE INDEX audit_actor_tenant ON audit (actor_tenant_id);
      CREATE INDEX audit_target_tenant ON audit (target_tenant_id);
      CREATE TABLE idempotency (
        scope_key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        response_json TEXT
      );
      ALTER TABLE models ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 3,
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
  {
    version: 4,
    name: 'scale_claims',
    sql: `
      -- The order of claims (1, 2, 3 ...): a tenant's last one decides its turn in the fair queue.
      ALTER TABLE training_jobs ADD COLUMN claim_seq INTEGER;
      CREATE INDEX training_jobs_owner_claim ON training_jobs (owner, claim_seq);
      -- The training job a version was registered by: at most one version per job, even when two
      -- trainers both finished it (one's lease ran out while it still worked).
      ALTER TABLE versions ADD COLUMN source_job TEXT;
      CREATE UNIQUE INDEX versions_source_job ON versions (owner, model, source_job) WHERE source_job IS NOT NULL;
    `,
  },
  {
    // Asynchronous predictions, webhook deliveries, batches and webhook secrets (work-ports.ts).
    version: 5,
    name: 'predictions_work_items',
    sql: `
      CREATE TABLE work_items (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        parent TEXT,
        due_at INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        data_json TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE INDEX work_items_owner ON work_items (kind, owner, created_at);
      CREATE INDEX work_items_status ON work_items (kind, status, created_at);
      CREATE INDEX work_items_due ON work_items (kind, status, due_at);
      CREATE INDEX work_items_parent ON work_items (parent);
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
