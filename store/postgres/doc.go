// Package postgres is Hearth's store on PostgreSQL, for a control plane
// that outgrows one machine: several `hearth server` replicas share one
// database. It keeps the same records as store/sqlite, in the same shape
// (a JSON document per record beside the columns that are queried and
// the secrets no API may show), through a pgx connection pool; the schema
// is migrated by goose at Open, under an advisory lock so that replicas
// starting together migrate once.
//
// Every method is one transaction. Read-modify-write methods (UpdateCluster,
// UpdateNode, UpdateStep, AddSteps) lock the row they read with SELECT ...
// FOR NO KEY UPDATE, so concurrent writers, in this process or another
// replica, take turns and none loses another's update. AddSteps locks its
// cluster's row, which makes it the one writer of that cluster's queue
// while it counts the active steps and numbers the new ones.
package postgres
