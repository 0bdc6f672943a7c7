-- Content-addressed blobs in the database (MAAS_BLOB_STORE=postgres): a cluster then needs only
-- PostgreSQL and Redis. A blob is cut into chunks of at most 1 MiB; an upload writes its chunks
-- under a temporary `upload:<id>` key and, once its digest is known, renames them to the digest in
-- the transaction that inserts the `blobs` row, so a blob is visible only when complete.

CREATE TABLE blobs (
  digest TEXT COLLATE "C" PRIMARY KEY,
  size_bytes BIGINT NOT NULL,
  chunks INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE blob_chunks (
  -- The digest, or `upload:<id>` while the upload runs.
  blob TEXT COLLATE "C" NOT NULL,
  n INTEGER NOT NULL,
  data BYTEA NOT NULL,
  -- Epoch ms: abandoned uploads are purged by age.
  written_at BIGINT NOT NULL,
  PRIMARY KEY (blob, n)
);
-- Chunks are TOASTed out of line anyway; storing them uncompressed saves CPU on model files,
-- which do not compress.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
