-- The order of claims: a tenant's last one decides its turn in the fair training queue.
CREATE SEQUENCE training_claim_seq;
ALTER TABLE training_jobs ADD COLUMN claim_seq BIGINT;
CREATE INDEX training_jobs_owner_claim ON training_jobs (owner, claim_seq);

-- The training job a version was registered by: at most one version per job, even when two
-- trainers both finished it (one's lease ran out while it still worked).
ALTER TABLE versions ADD COLUMN source_job TEXT;
CREATE UNIQUE INDEX versions_source_job ON versions (owner, model, source_job) WHERE source_job IS NOT NULL;
