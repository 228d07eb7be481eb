// Package storetest is the conformance suite every hearth.Store
// implementation runs: the same tests for SQLite, PostgreSQL and any
// backend to come. It covers every method of the interface, the members a
// record's JSON form leaves out, atomicity, ordering, and concurrent
// writers.
package storetest
