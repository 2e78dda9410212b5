-- Schema 3: a key rotation in progress (`coffer rekey`). At most one row:
-- the next master key and recovery key, wrapped under a key derived from the
-- current master key, and the next header. phase 1: documents are being
-- re-encrypted; phase 2: the index is under the next key and the next header
-- must be put in place (see vault/rekey.rs).
CREATE TABLE rekey (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    phase       INTEGER NOT NULL,
    nonce       BLOB    NOT NULL,
    wrapped     BLOB    NOT NULL,
    next_header BLOB    NOT NULL
);
