-- Schema 4: the trash. A document in the trash keeps its row (state 1, in the
-- manifest); only its sealed metadata says it is trashed and since when (see
-- meta.rs). How many days the trash keeps a document is part of the
-- integrity record, signed by its MAC from record version 3 on (see index.rs);
-- a record of version 2 reads as the default, 30. So is the number of
-- documents in the trash (0 before version 3: there was no trash).
ALTER TABLE vault_state ADD COLUMN trash_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_state ADD COLUMN trash_retention_days INTEGER NOT NULL DEFAULT 30;
