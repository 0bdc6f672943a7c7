-- maas schema, version 1: the registry, tenancy and training tables in one step.
-- Mirrors the SQLite schema (src/store/sqlite/migrations.ts, versions 1-3) with PostgreSQL types:
-- epoch-ms times are BIGINT, record times (createdAt ...) are ISO-8601 TEXT as in SQLite, JSON
-- columns are `json` (kept verbatim, so key order round-trips), billing units are DOUBLE PRECISION
-- (audio seconds may be fractional). Text columns use the "C" collation: names and ids sort
-- byte-wise, as in SQLite, whatever the database's locale. Never edit this file once released:
-- add 002_*.sql.

CREATE TABLE models (
  owner TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  task TEXT COLLATE "C",
  description TEXT COLLATE "C",
  serving_json JSON NOT NULL DEFAULT '{}',
  public BOOLEAN NOT NULL DEFAULT FALSE,
  -- The next version number: bumped under the row lock, so concurrent uploads never share one.
  next_version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (owner, name)
);
CREATE INDEX models_public ON models (owner, name) WHERE public;

CREATE TABLE versions (
  owner TEXT COLLATE "C" NOT NULL,
  model TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  digest TEXT COLLATE "C" NOT NULL,
  size_bytes BIGINT NOT NULL,
  signature_json JSON NOT NULL,
  metadata_json JSON NOT NULL DEFAULT '{}',
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (owner, model, version),
  FOREIGN KEY (owner, model) REFERENCES models (owner, name) ON DELETE CASCADE
);
CREATE INDEX versions_digest ON versions (digest);

CREATE TABLE aliases (
  owner TEXT COLLATE "C" NOT NULL,
  model TEXT COLLATE "C" NOT NULL,
  alias TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (owner, model, alias),
  FOREIGN KEY (owner, model, version) REFERENCES versions (owner, model, version) ON DELETE CASCADE
);

CREATE TABLE tenants (
  id TEXT COLLATE "C" PRIMARY KEY,
  limits_json JSON NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id TEXT COLLATE "C" PRIMARY KEY,
  tenant_id TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  prefix TEXT COLLATE "C" NOT NULL UNIQUE,
  hash TEXT COLLATE "C" NOT NULL,
  scopes_json JSON NOT NULL,
  limits_json JSON NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

CREATE TABLE usage (
  tenant_id TEXT COLLATE "C" NOT NULL,
  key_id TEXT COLLATE "C" NOT NULL,
  model TEXT COLLATE "C" NOT NULL,
  version TEXT COLLATE "C" NOT NULL,
  units DOUBLE PRECISION NOT NULL,
  latency_ms DOUBLE PRECISION NOT NULL,
  status INTEGER NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX usage_tenant_at ON usage (tenant_id, at);
CREATE INDEX usage_at ON usage (at);

-- Monthly units per (month, scope, id); scope is 'tenant' or 'key'. Debits lock the tenant row
-- first, then the key row (one order everywhere: no deadlocks).
CREATE TABLE quota_usage (
  month TEXT COLLATE "C" NOT NULL,
  scope TEXT COLLATE "C" NOT NULL CHECK (scope IN ('tenant', 'key')),
  id TEXT COLLATE "C" NOT NULL,
  used DOUBLE PRECISION NOT NULL CHECK (used >= 0),
  PRIMARY KEY (month, scope, id)
);

-- Check-and-debit in one round trip (the serving path pays it per request): create both counters
-- if needed, lock them (tenant first, then key), and add `units` to both only if both stay within
-- their allowances (NULL = unlimited). Returns whether it did, and both balances before.
CREATE FUNCTION quota_debit(
  p_month TEXT, p_tenant TEXT, p_key TEXT, p_units DOUBLE PRECISION,
  p_tenant_allowance DOUBLE PRECISION, p_key_allowance DOUBLE PRECISION,
  OUT ok BOOLEAN, OUT tenant_used DOUBLE PRECISION, OUT key_used DOUBLE PRECISION
) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO quota_usage (month, scope, id, used)
    VALUES (p_month, 'tenant', p_tenant, 0), (p_month, 'key', p_key, 0)
    ON CONFLICT DO NOTHING;
  SELECT used INTO tenant_used FROM quota_usage
    WHERE month = p_month AND scope = 'tenant' AND id = p_tenant FOR UPDATE;
  SELECT used INTO key_used FROM quota_usage
    WHERE month = p_month AND scope = 'key' AND id = p_key FOR UPDATE;
  ok := (p_tenant_allowance IS NULL OR tenant_used + p_units <= p_tenant_allowance)
    AND (p_key_allowance IS NULL OR key_used + p_units <= p_key_allowance);
  IF ok THEN
    UPDATE quota_usage SET used = GREATEST(0, used + p_units)
      WHERE month = p_month AND ((scope = 'tenant' AND id = p_tenant) OR (scope = 'key' AND id = p_key));
  END IF;
END
$$;

CREATE TABLE audit (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT COLLATE "C" NOT NULL UNIQUE,
  at BIGINT NOT NULL,
  actor_key_id TEXT COLLATE "C" NOT NULL,
  actor_tenant_id TEXT COLLATE "C" NOT NULL,
  action TEXT COLLATE "C" NOT NULL,
  target TEXT COLLATE "C" NOT NULL,
  target_tenant_id TEXT COLLATE "C" NOT NULL,
  outcome TEXT COLLATE "C" NOT NULL,
  detail TEXT COLLATE "C"
);
CREATE INDEX audit_actor_tenant ON audit (actor_tenant_id);
CREATE INDEX audit_target_tenant ON audit (target_tenant_id);

CREATE TABLE idempotency (
  scope_key TEXT COLLATE "C" PRIMARY KEY,
  fingerprint TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  response_json JSON
);
CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE datasets (
  owner TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  digest TEXT COLLATE "C" NOT NULL,
  size_bytes BIGINT NOT NULL,
  format TEXT COLLATE "C" NOT NULL,
  kind TEXT COLLATE "C" NOT NULL,
  description_json JSON NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (owner, name)
);

CREATE TABLE training_jobs (
  id TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  family TEXT COLLATE "C" NOT NULL,
  dataset TEXT COLLATE "C" NOT NULL,
  dataset_digest TEXT COLLATE "C",
  target TEXT COLLATE "C",
  model TEXT COLLATE "C" NOT NULL,
  hyperparameters_json JSON NOT NULL,
  status TEXT COLLATE "C" NOT NULL,
  error TEXT COLLATE "C",
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_until BIGINT NOT NULL DEFAULT 0,
  checkpoint_step INTEGER NOT NULL DEFAULT 0,
  result_json JSON,
  -- The seq of the job's newest event: bumped under the job's row lock in the same statement that
  -- inserts the event, so concurrent writers get 1, 2, 3 ... with no gap and no duplicate.
  last_event_seq INTEGER NOT NULL DEFAULT 0,
  created_at TEXT COLLATE "C" NOT NULL,
  started_at TEXT COLLATE "C",
  finished_at TEXT COLLATE "C"
);
CREATE INDEX training_jobs_owner ON training_jobs (owner, created_at);
CREATE INDEX training_jobs_status ON training_jobs (status, created_at);

CREATE TABLE training_events (
  job_id TEXT COLLATE "C" NOT NULL REFERENCES training_jobs (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  type TEXT COLLATE "C" NOT NULL,
  data_json JSON NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (job_id, seq)
);
