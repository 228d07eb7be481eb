-- +goose Up
-- The ssh provisioner's inventory: each host's JSON document beside the
-- columns that must be unique (a name, an SSH address) and that order the
-- list. The constraint names are what the store maps to ErrConflict.
CREATE TABLE hosts (
    id         TEXT PRIMARY KEY,
    -- pos keeps hosts created at the same instant in the order stored.
    pos        BIGINT GENERATED ALWAYS AS IDENTITY,
    name       TEXT NOT NULL,
    address    TEXT NOT NULL,
    port       INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    doc        JSON NOT NULL,
    CONSTRAINT hosts_name UNIQUE (name),
    CONSTRAINT hosts_address UNIQUE (address, port)
);
CREATE INDEX hosts_created_at ON hosts (created_at, pos);

-- +goose Down
DROP TABLE hosts;
