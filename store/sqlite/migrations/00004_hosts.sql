-- +goose Up
-- The ssh provisioner's inventory: each host's JSON document beside the
-- columns that must be unique (a name, an SSH address) and that order the
-- list. Lists are oldest first: created_at, then rowid (insertion order).
CREATE TABLE hosts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    address    TEXT NOT NULL,
    port       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    CONSTRAINT hosts_name UNIQUE (name),
    CONSTRAINT hosts_address UNIQUE (address, port)
);
CREATE INDEX hosts_created_at ON hosts(created_at);

-- +goose Down
DROP TABLE hosts;
