-- fluoro DuckDB schema, version 1.
-- segments: one row per stored document, the columns that queries filter on,
-- plus where its bytes live.  Rows are appended in arrival order, so the
-- per-row-group min/max of trace_time and received prune most scans.
CREATE TABLE IF NOT EXISTS segments (
    trace_id     VARCHAR NOT NULL,
    trace_key    BIGINT NOT NULL,  -- last 64 bits of trace_id: integer equality before string equality
    id           VARCHAR NOT NULL,
    parent_id    VARCHAR,
    is_sub       BOOLEAN NOT NULL,
    in_progress  BOOLEAN NOT NULL,
    trace_time   BIGINT NOT NULL,
    start_time   DOUBLE NOT NULL,
    end_time     DOUBLE,
    received     DOUBLE NOT NULL,
    name         VARCHAR,
    origin       VARCHAR,
    fault        BOOLEAN,
    error        BOOLEAN,
    throttle     BOOLEAN,
    any_throttle BOOLEAN,
    http_method  VARCHAR,
    http_url     VARCHAR,
    http_status  SMALLINT,
    user_agent   VARCHAR,
    client_ip    VARCHAR,
    "user"       VARCHAR,
    chunk        BIGINT NOT NULL,
    off          INTEGER NOT NULL,
    len          INTEGER NOT NULL
);

-- Documents are stored zstd-compressed in chunks of many documents: similar
-- JSON compresses far better together than one document at a time.  Inside a
-- chunk, a document's trace id is written as the byte 0x00 and its own id as
-- 0x01 (valid JSON never contains raw control bytes); readers put them back.
CREATE TABLE IF NOT EXISTS chunks (
    chunk    BIGINT NOT NULL,
    received DOUBLE NOT NULL,
    raw_size INTEGER NOT NULL,
    data     BLOB NOT NULL USING COMPRESSION uncompressed  -- already zstd
);

-- One row per annotation, for annotation.KEY filters (joined on trace_key).
CREATE TABLE IF NOT EXISTS annotations (
    trace_key  BIGINT NOT NULL,
    trace_time BIGINT NOT NULL,
    received   DOUBLE NOT NULL,
    key        VARCHAR NOT NULL,
    s          VARCHAR,
    n          DOUBLE,
    b          BOOLEAN
);

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
