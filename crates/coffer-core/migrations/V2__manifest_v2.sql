-- Schema 2: the manifest folds entry MACs under a key whose outputs are never
-- stored (see index.rs), and the audit chain may start from a base (the head
-- of the log a `repair` continued). Rows of schema 1 keep version 1 until the
-- next unlock re-signs them as version 2.
ALTER TABLE vault_state ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE vault_state ADD COLUMN audit_base_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_state ADD COLUMN audit_base_head BLOB NOT NULL
    DEFAULT X'0000000000000000000000000000000000000000000000000000000000000000';
