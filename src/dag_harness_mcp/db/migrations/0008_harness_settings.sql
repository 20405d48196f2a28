-- Settings the harness remembers between commands (e.g. the roles path of the last
-- `harness sync --roles-path`), one value per key.
CREATE TABLE harness_settings (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
