// Package spark is Hearth's knowledge of the Apache Spark runtime: which
// release labels exist and which Spark version each one means (release.go),
// which Java runs it (java.go), and where a Spark distribution of a given
// version lives on this host or how to install one (dist.go).
//
// The package talks to the host (it runs java and python, reads and writes
// the runtime cache, downloads from the Apache archive) but never to the
// control plane or the store; callers pass in everything it needs. It does
// not import the domain package, so the domain can stay free of I/O.
//
// A release label is what a user writes in --release-label: "spark-4.0.1" for
// an Apache Spark version, or "emr-7.9.0" for the Spark version that Amazon
// EMR release shipped. EMR ships its own "-amzn-N" builds; Hearth runs the
// Apache release with the same version number.
package spark
