-- +goose Up
CREATE TABLE clusters (
    id         TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT NOT NULL
);
CREATE INDEX clusters_state ON clusters(state);

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    token_hash TEXT NOT NULL DEFAULT '',
    launch     BLOB,
    doc        TEXT NOT NULL
);
CREATE INDEX nodes_cluster ON nodes(cluster_id);

-- +goose Down
DROP TABLE nodes;
DROP TABLE clusters;
