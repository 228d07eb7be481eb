-- +goose Up
CREATE TABLE access_keys (
    id          TEXT PRIMARY KEY,
    secret      BLOB NOT NULL, -- sealed with the server's master key (AES-GCM)
    created_at  INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE access_keys;
