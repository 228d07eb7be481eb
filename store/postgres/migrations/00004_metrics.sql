-- +goose Up
-- The samples agents report, for every replica's console, hearth top and
-- /metrics: node_id is '' for a cluster's own figures. Each series keeps
-- the last hour or so (AddMetrics drops older samples).
CREATE TABLE metrics (
    cluster_id TEXT NOT NULL,
    node_id    TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    doc        JSON NOT NULL
);
CREATE INDEX metrics_series ON metrics (cluster_id, node_id, at);

-- +goose Down
DROP TABLE metrics;
