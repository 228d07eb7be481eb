package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

// testRunner is a step runner that logs into a buffer file, on a fake
// distribution at dir (with an examples jar when examples is true).
func testRunner(t *testing.T, examples bool) (*stepRunner, func() string) {
	t.Helper()
	home := t.TempDir()
	if examples {
		os.MkdirAll(filepath.Join(home, "examples", "jars"), 0o755)
		os.WriteFile(filepath.Join(home, "examples", "jars", "spark-examples_2.13-4.0.1.jar"), nil, 0o644)
	}
	log := filepath.Join(t.TempDir(), "controller")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := &stepRunner{dist: spark.Distribution{Home: home, Version: "4.0.1", Source: "cache"}, url: "spark://127.0.0.1:7077", executorCores: 2, ctrl: f}
	return r, func() string { b, _ := os.ReadFile(log); return string(b) }
}

func TestTranslateYARN(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in, want   []string
		hasMaster  bool
		logMention string
	}{
		{"master yarn with executors",
			[]string{"--deploy-mode", "client", "--master", "yarn", "--num-executors", "2", "--conf", "spark.yarn.submit.waitAppCompletion=true", "pi.py", "--num-executors", "9"},
			[]string{"--conf", "spark.cores.max=4", "--deploy-mode", "client", "pi.py", "--num-executors", "9"}, false, "spark.cores.max=4"},
		{"legacy yarn-cluster sets the deploy mode",
			[]string{"--master", "yarn-cluster", "--queue", "default", "--executor-cores", "3", "--conf=spark.executor.instances=2", "app.jar"},
			[]string{"--conf", "spark.cores.max=6", "--deploy-mode", "cluster", "--executor-cores", "3", "app.jar"}, false, "--queue default"},
		{"yarn-client",
			[]string{"--master=yarn-client", "--verbose", "app.py"},
			[]string{"--deploy-mode", "client", "--verbose", "app.py"}, false, "yarn-client"},
		{"a spark:// master is kept",
			[]string{"--master", "spark://elsewhere:7077", "app.py"},
			[]string{"--master", "spark://elsewhere:7077", "app.py"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, log := testRunner(t, false)
			got, hasMaster := r.translateYARN(tc.in)
			if !reflect.DeepEqual(got, tc.want) || hasMaster != tc.hasMaster {
				t.Errorf("got %q (master %v), want %q (master %v)", got, hasMaster, tc.want, tc.hasMaster)
			}
			if !strings.Contains(log(), tc.logMention) {
				t.Errorf("controller log does not mention %q:\n%s", tc.logMention, log())
			}
		})
	}
}

func TestEMRCommand(t *testing.T) {
	r, log := testRunner(t, true)
	jar := filepath.Join(r.dist.Home, "examples", "jars", "spark-examples_2.13-4.0.1.jar")
	for _, tc := range []struct{ in, want []string }{
		{[]string{"/usr/lib/spark/bin/spark-submit", "--class", "org.apache.spark.examples.SparkPi", "/usr/lib/spark/examples/jars/spark-examples.jar", "10"},
			[]string{"spark-submit", "--class", "org.apache.spark.examples.SparkPi", jar, "10"}},
		{[]string{"/usr/lib/spark/bin/run-example", "SparkPi", "10"}, []string{"spark-submit", "--class", "org.apache.spark.examples.SparkPi", jar, "10"}},
		{[]string{"spark-example", "--executor-memory", "1g", "SparkPi", "10"}, []string{"spark-submit", "--executor-memory", "1g", "--class", "org.apache.spark.examples.SparkPi", jar, "10"}},
		{[]string{"/usr/bin/spark-sql", "-f", "q.sql"}, []string{filepath.Join(r.dist.Home, "bin", "spark-sql"), "-f", "q.sql"}},
		{[]string{"bash", "-c", "echo /usr/lib/sparkling"}, []string{"bash", "-c", "echo /usr/lib/sparkling"}},
	} {
		got, err := r.emrCommand(append([]string{}, tc.in...))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if !strings.Contains(log(), "Translated /usr/lib/spark/bin/run-example SparkPi") {
		t.Errorf("controller log:\n%s", log())
	}
	pip, _ := testRunner(t, false)
	if _, err := pip.emrCommand([]string{"run-example", "SparkPi"}); err == nil || !strings.Contains(err.Error(), "no examples jar") {
		t.Errorf("run-example on a runtime without examples: %v, want an error saying so", err)
	}
}
