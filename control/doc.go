// Package control is Hearth's control plane: the operations the APIs call
// (create, describe, list, terminate clusters; agent registration, plans and
// reports) and the level-triggered reconcile loop that drives every cluster
// through EMR's states. All truth lives in the store; the loop reads desired
// and observed state, acts, and writes back, so the server can be killed at
// any instant and restarted without losing or repeating work.
package control
