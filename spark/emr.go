package spark

import (
	"fmt"
	"path/filepath"
	"strings"
)

// EMR installs Spark under /usr/lib/spark, links its commands into
// /usr/bin, and step definitions written for EMR name those paths. These
// map them onto a distribution, without touching the host's /usr.
const emrSparkHome = "/usr/lib/spark"

// emrCommands are the Spark commands EMR puts on PATH (/usr/bin) and in
// /usr/lib/spark/bin.
var emrCommands = map[string]bool{
	"spark-submit": true, "spark-shell": true, "pyspark": true, "spark-sql": true,
	"run-example": true, "spark-class": true, "beeline": true,
}

// EMRCommand reports which Spark command arg (a step's first argument)
// names: a bare command ("spark-submit"), EMR's /usr/bin/<cmd> or
// /usr/lib/spark/bin/<cmd>, or EMR's own "spark-example" (run-example). It
// returns "" for anything else.
func EMRCommand(arg string) string {
	name := arg
	switch {
	case strings.HasPrefix(arg, emrSparkHome+"/bin/"):
		name = strings.TrimPrefix(arg, emrSparkHome+"/bin/")
	case strings.HasPrefix(arg, "/usr/bin/"):
		name = strings.TrimPrefix(arg, "/usr/bin/")
	}
	if name == "spark-example" {
		return "run-example"
	}
	if emrCommands[name] {
		return name
	}
	return ""
}

// IsEMRPath reports whether p is under EMR's Spark home (/usr/lib/spark),
// which ResolveEMRPath maps onto a distribution.
func IsEMRPath(p string) bool {
	return p == emrSparkHome || strings.HasPrefix(p, emrSparkHome+"/")
}

// ResolveEMRPath maps a path under /usr/lib/spark onto d. EMR's
// examples/jars/spark-examples.jar is a link to the versioned jar, which is
// what an Apache distribution has; a distribution without it (pyspark from
// PyPI has no examples jars) is an error saying so.
func (d Distribution) ResolveEMRPath(p string) (string, error) {
	rel := strings.TrimPrefix(strings.TrimPrefix(p, emrSparkHome), "/")
	if rel == "examples/jars/spark-examples.jar" {
		return d.ExamplesJar()
	}
	return filepath.Join(d.Home, filepath.FromSlash(rel)), nil
}

// ExamplesJar is the distribution's Spark examples jar
// (examples/jars/spark-examples_<scala>-<version>.jar).
func (d Distribution) ExamplesJar() (string, error) {
	m, _ := filepath.Glob(filepath.Join(d.Home, "examples", "jars", "spark-examples*.jar"))
	if len(m) == 0 {
		return "", fmt.Errorf("this cluster's Spark %s runtime (%s) has no examples jar (pyspark from PyPI ships none); run the cluster on the Apache distribution (hearth server --spark-home, or a runtime installed from the Apache archive), or submit your own jar", d.Version, d.Source)
	}
	return m[0], nil
}
