//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// sparkPiSource stands in for Spark's own examples: pip's pyspark has no
// examples jar, Apache's distribution has one with this class.
const sparkPiSource = `package org.apache.spark.examples;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

public final class SparkPi {
  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("SparkPi").getOrCreate();
    JavaSparkContext jsc = new JavaSparkContext(spark.sparkContext());
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    int n = 100000 * slices;
    List<Integer> l = new ArrayList<>(n);
    for (int i = 0; i < n; i++) l.add(i);
    int count = jsc.parallelize(l, slices).map(i -> {
      double x = Math.random() * 2 - 1, y = Math.random() * 2 - 1;
      return x * x + y * y <= 1 ? 1 : 0;
    }).reduce(Integer::sum);
    System.out.println("Pi is roughly " + 4.0 * count / n);
    spark.stop();
  }
}
`

// runtimeWithExamples returns a Spark runtime like Apache's distribution:
// the installed one (hard-linked, so nothing is copied) plus an examples
// jar holding org.apache.spark.examples.SparkPi, compiled here.
func runtimeWithExamples(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "spark")
	if out, err := exec.Command("cp", "-al", sparkHome(t), home).CombinedOutput(); err != nil {
		t.Fatalf("copy spark: %v: %s", err, out)
	}
	src := filepath.Join(t.TempDir(), "src")
	pkg := filepath.Join(src, "org", "apache", "spark", "examples")
	os.MkdirAll(pkg, 0o755)
	os.WriteFile(filepath.Join(pkg, "SparkPi.java"), []byte(sparkPiSource), 0o644)
	jars := filepath.Join(home, "examples", "jars")
	os.MkdirAll(jars, 0o755)
	for _, c := range [][]string{
		{"javac", "-cp", filepath.Join(home, "jars", "*"), "-d", src, filepath.Join(pkg, "SparkPi.java")},
		{"jar", "cf", filepath.Join(jars, "spark-examples_2.13-4.0.1.jar"), "-C", src, "org/apache/spark/examples/SparkPi.class"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s (make test installs a JDK): %v\n%s", c[0], err, out)
		}
	}
	return home
}

// wildStep is one file of testdata/steps-in-the-wild.
type wildStep struct {
	Source string
	Steps  []map[string]any
	Expect struct{ State, Stdout, Controller, Refused string }
}

// TestStepsInTheWild runs the corpus of real-world EMR step definitions
// through the aws CLI against a local 1+2 cluster: each either reaches its
// expected state with its output, or is refused at add-steps naming the
// step type.
func TestStepsInTheWild(t *testing.T) {
	home := runtimeWithExamples(t)
	e := newEnv(t, "SPARK_HOME="+home)
	// Two workers: a cluster-mode driver holds a worker's core, its
	// executors need another.
	id := decodeJSON[struct{ ClusterId string }](t, e.ok("create-cluster", "--instance-type", "local.small", "--instance-count", "3", "--wait")).ClusterId
	keyID, secret := e.emrAccessKey()
	aws := newAwsV2(t, e, keyID, secret)
	piPy := filepath.Join(home, "examples", "src", "main", "python", "pi.py")
	// HiveQL, as a Type=HIVE step would carry it, for spark-sql -f.
	hiveQL := filepath.Join(t.TempDir(), "query.q")
	os.WriteFile(hiveQL, []byte("CREATE TEMPORARY VIEW t AS SELECT 'hearth-hiveql' AS k, 6 * 7 AS v;\nSELECT k, v FROM t;\n"), 0o644)

	files, _ := filepath.Glob(filepath.Join("testdata", "steps-in-the-wild", "*.json"))
	if len(files) < 9 {
		t.Fatalf("%d corpus files", len(files))
	}
	// One file after the other, on the test's own t: the helpers fail the
	// whole test, naming the file.
	for _, f := range files {
		t.Logf("corpus file %s", filepath.Base(f))
		func() {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var w wildStep
			if err := json.Unmarshal(raw, &w); err != nil || w.Source == "" || len(w.Steps) == 0 {
				t.Fatalf("%s: %v (each file needs Source and Steps)", f, err)
			}
			steps, _ := json.Marshal(w.Steps)
			stepsFile := filepath.Join(t.TempDir(), "steps.json")
			os.WriteFile(stepsFile, []byte(strings.NewReplacer("${PI_PY}", piPy, "${HIVEQL}", hiveQL).Replace(string(steps))), 0o644)
			r := aws.run("emr", "add-steps", "--cluster-id", id, "--steps", "file://"+stepsFile)
			if w.Expect.Refused != "" {
				if r.code == 0 || !strings.Contains(r.stderr, "InvalidRequestException") || !strings.Contains(r.stderr, "step type "+w.Expect.Refused) {
					t.Errorf("%s: add-steps: exit %d, stderr %q; want a refusal (InvalidRequestException) naming step type %s", f, r.code, r.stderr, w.Expect.Refused)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("%s: add-steps: exit %d: %s", f, r.code, r.stderr)
			}
			stepID := decodeJSON[struct{ StepIds []string }](t, r.stdout).StepIds[0]
			e.stepAwaitEnd(id, stepID, hearth.StepState(w.Expect.State), 4*time.Minute)
			if out := e.stepLog(id, stepID, "stdout"); !strings.Contains(out, w.Expect.Stdout) {
				t.Errorf("%s: stdout lacks %q:\n%s", f, w.Expect.Stdout, tailString(out, 1000))
			}
			if ctrl := e.stepLog(id, stepID, "controller"); !strings.Contains(ctrl, w.Expect.Controller) {
				t.Errorf("%s: controller log lacks %q:\n%s", f, w.Expect.Controller, ctrl)
			}
		}()
	}

	// The hearth CLI refuses the same types, exit code 2.
	for _, typ := range []string{"STREAMING", "HIVE", "PIG", "IMPALA"} {
		r := e.hearth("add-steps", "--cluster-id", id, "--steps", "Type="+typ+",Name=x,Args=[-f,q]")
		if r.code != 2 || !strings.Contains(r.stderr, "step type "+typ) {
			t.Errorf("hearth add-steps Type=%s: exit %d, %q; want exit 2 naming the type", typ, r.code, r.stderr)
		}
	}
}
