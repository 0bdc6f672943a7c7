-- Asynchronous predictions, webhook deliveries, batches and webhook secrets (work-ports.ts): one
-- table of typed rows, the JSON body owned by the service of each kind.

CREATE TABLE work_items (
  kind TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  status TEXT NOT NULL,
  parent TEXT COLLATE "C",
  -- Epoch ms; 0 = not scheduled.
  due_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  data JSONB NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX work_items_owner ON work_items (kind, owner, created_at);
CREATE INDEX work_items_status ON work_items (kind, status, created_at);
CREATE INDEX work_items_due ON work_items (kind, status, due_at);
CREATE INDEX work_items_parent ON work_items (parent);
