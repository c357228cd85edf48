-- fluoro DuckDB configuration tables (sampling rules, groups, tags, sampling state).
-- Rules and groups keep their X-Ray members as JSON text: the API shape is the
-- contract, and nothing filters on the members in SQL.
CREATE TABLE IF NOT EXISTS sampling_rules (
    name        VARCHAR PRIMARY KEY,
    body        VARCHAR NOT NULL,
    created_at  DOUBLE NOT NULL,
    modified_at DOUBLE NOT NULL,
    tags        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS xray_groups (
    name              VARCHAR PRIMARY KEY,
    group_id          VARCHAR NOT NULL,
    filter_expression VARCHAR,
    insights          VARCHAR NOT NULL,
    tags              VARCHAR NOT NULL
);

-- Summed counts per rule and 10-second window, across clients.
CREATE TABLE IF NOT EXISTS sampling_statistics (
    rule          VARCHAR NOT NULL,
    window_start  DOUBLE NOT NULL,
    request_count BIGINT NOT NULL,
    sampled_count BIGINT NOT NULL,
    borrow_count  BIGINT NOT NULL,
    PRIMARY KEY (rule, window_start)
);

-- One reservoir lease per rule and client: ``quota`` requests/s until ``expires``.
CREATE TABLE IF NOT EXISTS sampling_leases (
    rule      VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    quota     INTEGER NOT NULL,
    demand    DOUBLE NOT NULL,
    expires   DOUBLE NOT NULL,
    PRIMARY KEY (rule, client_id)
);

-- ``rules_modified`` (LastRuleModification), and marks of this database's own.
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
