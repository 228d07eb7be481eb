-- +goose Up
CREATE TABLE steps (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    seq        INTEGER NOT NULL,
    state      TEXT NOT NULL,
    doc        TEXT NOT NULL,
    UNIQUE (cluster_id, seq)
);
CREATE INDEX steps_cluster_state ON steps(cluster_id, state);

-- +goose Down
DROP TABLE steps;
