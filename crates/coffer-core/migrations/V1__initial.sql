-- Coffer index, schema 1. Everything a reader could learn from this file is
-- listed in SECURITY.md ("What the disk shows"): ids, sizes, counts, times of
-- audit events. Names, media types and tags live only inside `meta`, sealed.

-- One row: the vault's integrity record, under K_manifest (see index.rs).
CREATE TABLE vault_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    header_generation INTEGER NOT NULL,
    doc_count         INTEGER NOT NULL,
    manifest_digest   BLOB    NOT NULL,
    audit_seq         INTEGER NOT NULL,
    audit_head        BLOB    NOT NULL,
    mac               BLOB    NOT NULL
);

-- One row per document. state: 0 = being written, 1 = live, 2 = being deleted.
CREATE TABLE documents (
    id          BLOB    PRIMARY KEY,
    state       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    blob_len    INTEGER NOT NULL,
    header_hash BLOB    NOT NULL,
    meta        BLOB    NOT NULL,
    entry_mac   BLOB    NOT NULL
) WITHOUT ROWID;

-- The audit log, HMAC-chained (see audit.rs).
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    event  TEXT    NOT NULL,
    detail TEXT    NOT NULL,
    mac    BLOB    NOT NULL
);

-- Failed unlock attempts, written without a key; chained into the audit log at
-- the next successful unlock.
CREATE TABLE failed_unlocks (
    at_ms INTEGER NOT NULL
);
