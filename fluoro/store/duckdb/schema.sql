-- fluoro DuckDB schema, version 3 (version 1 lacked the traces table, versions 1 and 2
-- kept the trace id as text in segments; opening upgrades both).
-- segments: one row per stored document, the columns that queries filter on,
-- plus where its bytes live.  Rows are appended in arrival order, so the
-- per-row-group min/max of trace_time and received prune most scans.
CREATE TABLE IF NOT EXISTS segments (
    trace_key    BIGINT NOT NULL,  -- the trace id's last 64 random bits
    hi           UINTEGER NOT NULL,  -- its first 32: with trace_time the whole id (trace_table.trace_id)
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
    len          INTEGER NOT NULL,
    -- The chunk's raw_size, dict, file, pos and size (see chunks), repeated on its rows so a
    -- read needs no second query; NULL file: the bytes are inline in chunks (older rows).
    chunk_raw    INTEGER,
    chunk_dict   INTEGER,
    chunk_file   INTEGER,
    chunk_pos    BIGINT,
    chunk_size   INTEGER
);

-- Documents are stored zstd-compressed in chunks of many documents: similar
-- JSON compresses far better together than one document at a time, and better
-- still with a dictionary trained on earlier documents (doc_dicts.py; dict is
-- NULL for chunks written without one).  A chunk's bytes live in the files
-- beside the database (file/pos/size, doc_files.py), or inline in data for
-- in-memory stores and chunks older files wrote.  Inside a chunk, a document's
-- trace id, id, parent id, start and end time are written as the bytes
-- 0x00..0x04 (valid JSON never contains raw control bytes); readers put them
-- back from the row (fluoro.store.doc_markers).
CREATE TABLE IF NOT EXISTS chunks (
    chunk    BIGINT NOT NULL,
    received DOUBLE NOT NULL,
    raw_size INTEGER NOT NULL,
    dict     INTEGER,
    file     INTEGER,
    pos      BIGINT,
    size     INTEGER,
    data     BLOB USING COMPRESSION uncompressed  -- already zstd
);

CREATE TABLE IF NOT EXISTS zstd_dicts (
    dict INTEGER PRIMARY KEY,
    data BLOB NOT NULL
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

-- One row per trace, kept by the summarizer (trace_table.py) from segments:
-- trace-level filters and newest-first paging read it instead of aggregating
-- every segment of the window.  Rows are inserted in trace_time order, so
-- min/max of trace_time and last_end skip what a window does not cover.
CREATE TABLE IF NOT EXISTS traces (
    trace_key     BIGINT NOT NULL,
    trace_time    BIGINT NOT NULL,
    hi            UINTEGER NOT NULL,  -- the id's first 32 random bits (trace_key: the other 64)
    first_start   DOUBLE NOT NULL,    -- least start_time
    last_end      DOUBLE NOT NULL,    -- greatest coalesce(end_time, start_time)
    last_done     DOUBLE,             -- greatest end_time, only when partial (else = last_end)
    roots         INTEGER NOT NULL,   -- segments without parent (TracesProcessedCount)
    response_time DOUBLE,             -- of the root segment, as are the columns below
    fault         BOOLEAN,
    error         BOOLEAN,
    throttle      BOOLEAN,
    any_throttle  BOOLEAN NOT NULL,   -- throttled anywhere in the trace
    partial       BOOLEAN NOT NULL,   -- some document in progress
    status        SMALLINT,
    method        VARCHAR,
    url           VARCHAR,
    ua            VARCHAR,
    ip            VARCHAR
);

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

-- Service-graph rollup (fluoro.query.rollup).  graph_minutes/graph_histogram
-- hold per-minute sums per node/edge key; graph_traces holds each trace's own
-- contribution (its counts: first/last only ever widen a minute), so a trace that
-- changes is subtracted and added again.
CREATE TABLE IF NOT EXISTS graph_minutes (
    bucket        BIGINT NOT NULL,
    key           VARCHAR NOT NULL,
    ok            BIGINT NOT NULL,
    error         BIGINT NOT NULL,
    throttle      BIGINT NOT NULL,
    fault         BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    response_time DOUBLE NOT NULL,
    samples       BIGINT NOT NULL,
    first         DOUBLE NOT NULL,  -- least start ever added (not lowered back on subtraction)
    last          DOUBLE NOT NULL,
    PRIMARY KEY (bucket, key)
);

CREATE TABLE IF NOT EXISTS graph_histogram (
    bucket BIGINT NOT NULL,
    key    VARCHAR NOT NULL,
    ms     INTEGER NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (bucket, key, ms)
);

CREATE TABLE IF NOT EXISTS graph_traces (
    trace_key     BIGINT NOT NULL,
    trace_time    BIGINT NOT NULL,
    hi            UINTEGER NOT NULL,  -- with trace_time and trace_key: the trace id
    bucket        BIGINT NOT NULL,
    key           VARCHAR NOT NULL,
    ok            BIGINT NOT NULL,
    error         BIGINT NOT NULL,
    throttle      BIGINT NOT NULL,
    fault         BIGINT NOT NULL,
    total         BIGINT NOT NULL,
    response_time DOUBLE NOT NULL,
    samples       BIGINT NOT NULL,
    hist_ms       INTEGER[] NOT NULL,
    hist_n        BIGINT[] NOT NULL
);

-- Per-trace node facts (fluoro.query.node_facts), replaced whole per trace by the
-- rollup with graph_traces: kind 0 = a node (name/type/account), 1 = a call edge
-- (source in name/type/account, destination in dst_*), 2 = facts unknown (the
-- trace is never narrowed away).  Flags: some segment (call) of it has the flag;
-- ok: some has none.  Searches narrow service()/edge() candidates with it.
CREATE TABLE IF NOT EXISTS trace_nodes (
    trace_key   BIGINT NOT NULL,
    trace_time  BIGINT NOT NULL,
    kind        TINYINT NOT NULL,
    name        VARCHAR,
    type        VARCHAR,
    account     VARCHAR,
    dst_name    VARCHAR,
    dst_type    VARCHAR,
    dst_account VARCHAR,
    fault       BOOLEAN NOT NULL,
    error       BOOLEAN NOT NULL,
    throttle    BOOLEAN NOT NULL,
    ok          BOOLEAN NOT NULL
);
