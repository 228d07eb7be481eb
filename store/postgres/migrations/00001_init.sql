-- +goose Up
-- Each record is its JSON document (doc) beside the columns queries filter
-- and order by, and the members no API may show, which the document leaves
-- out. doc is json, not jsonb: it keeps what it is given, including text
-- with \u0000 in it, which jsonb refuses.
CREATE TABLE clusters (
    id                  TEXT PRIMARY KEY,
    state               TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    jupyter_token       TEXT NOT NULL DEFAULT '',
    spark_auth_secret   TEXT NOT NULL DEFAULT '',
    spark_ui_key        TEXT NOT NULL DEFAULT '',
    spark_connect_token TEXT NOT NULL DEFAULT '',
    doc                 JSON NOT NULL
);
CREATE INDEX clusters_state ON clusters (state);
CREATE INDEX clusters_created_at ON clusters (created_at DESC, id);

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    -- pos keeps nodes created at the same instant in the order stored.
    pos        BIGINT GENERATED ALWAYS AS IDENTITY,
    state      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    token_hash TEXT NOT NULL DEFAULT '',
    launch     BYTEA,
    doc        JSON NOT NULL
);
CREATE INDEX nodes_cluster ON nodes (cluster_id, created_at, pos);

CREATE TABLE steps (
    id            TEXT PRIMARY KEY,
    cluster_id    TEXT NOT NULL REFERENCES clusters (id),
    seq           BIGINT NOT NULL,
    state         TEXT NOT NULL,
    cancel_option TEXT NOT NULL DEFAULT '',
    doc           JSON NOT NULL,
    UNIQUE (cluster_id, seq)
);
CREATE INDEX steps_cluster_state ON steps (cluster_id, state);

CREATE TABLE access_keys (
    id          TEXT PRIMARY KEY,
    secret      BYTEA NOT NULL, -- sealed with the server's master key (AES-GCM)
    created_at  TIMESTAMPTZ NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_keys_created_at ON access_keys (created_at, id);

-- +goose Down
DROP TABLE access_keys;
DROP TABLE steps;
DROP TABLE nodes;
DROP TABLE clusters;
