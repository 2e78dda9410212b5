-- Schema 3: a key rotation in progress (`coffer rekey`). At most one row: the
-- next header, whose passphrase slot wraps the next master key (so only the
-- passphrase opens it, never a key the rotation revokes). See vault/rekey.rs.
CREATE TABLE rekey (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    next_header BLOB    NOT NULL
);
