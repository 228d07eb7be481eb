-- +goose Up
-- What replicas of one control plane share beyond its records: who they
-- are, the digests of the settings they must agree on, step logs and
-- console sessions.
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    agent_url  TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    leads      BOOLEAN NOT NULL
);

CREATE TABLE shared_settings (
    name   TEXT PRIMARY KEY,
    digest TEXT NOT NULL
);

-- A step log stream is the chunks agents shipped, each at its offset;
-- chunks never overlap (AppendStepLog skips the bytes held already).
CREATE TABLE step_logs (
    cluster_id TEXT NOT NULL,
    step_id    TEXT NOT NULL,
    stream     TEXT NOT NULL,
    at         BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (cluster_id, step_id, stream, at)
);

-- key is the SHA-256 of the session's cookie: the cookie is never stored.
CREATE TABLE sessions (
    key        TEXT PRIMARY KEY,
    who        TEXT NOT NULL,
    access_key TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    flash      TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE step_logs;
DROP TABLE shared_settings;
DROP TABLE replicas;
