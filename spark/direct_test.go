package spark_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/spark"
)

// testDistributions are the Spark runtimes `make test` installs: pyspark
// 4.0.1 (scripts/deps.sh) and 3.5.5 (scripts/test-deps.sh).
func testDistributions(t *testing.T) []spark.Distribution {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import pyspark,os;print(os.path.dirname(pyspark.__file__))").Output()
	if err != nil {
		t.Fatalf("python3 cannot import pyspark (%v); make test installs it", err)
	}
	homes := []string{strings.TrimSpace(string(out))}
	dir := os.Getenv("HEARTH_TEST_SPARK3")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "hearth-test", "pyspark-3.5.5")
	}
	homes = append(homes, filepath.Join(dir, "pyspark"))
	var ds []spark.Distribution
	for _, h := range homes {
		v, err := spark.VersionOf(h)
		if err != nil {
			t.Fatalf("no Spark runtime at %s (make test installs it): %v", h, err)
		}
		ds = append(ds, spark.Distribution{Home: h, Version: v})
	}
	return ds
}

// launcherCommand is what bin/spark-class would exec: the command Spark's
// own launcher builds for class and args in env.
func launcherCommand(t *testing.T, d spark.Distribution, env map[string]string, class string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(filepath.Join(env["JAVA_HOME"], "bin", "java"), append([]string{"-Xmx128m", "-cp", filepath.Join(d.Home, "jars", "*"), "org.apache.spark.launcher.Main", class}, args...)...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("Spark's launcher: %v", err)
	}
	_, cmdline, ok := strings.Cut(string(out), "\x00\n")
	if !ok {
		t.Fatalf("Spark's launcher printed %q", out)
	}
	return strings.Split(strings.TrimSuffix(cmdline, "\x00"), "\x00")
}

// The java command Hearth starts a daemon with is the one spark-class
// would run (same java, options, class and arguments; the same classpath
// entries, the jars moved first), for every daemon, on Spark 4.0 and 3.5.
func TestDirectMatchesSparkClass(t *testing.T) {
	java, err := spark.FindJava(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	javaHome := java.Home
	for _, d := range testDistributions(t) {
		conf := t.TempDir()
		extra := filepath.Join(t.TempDir(), "filter.jar")
		env := map[string]string{
			"SPARK_HOME": d.Home, "SPARK_CONF_DIR": conf, "JAVA_HOME": javaHome,
			"SPARK_SCALA_VERSION": map[bool]string{true: "2.13", false: "2.12"}[strings.HasPrefix(d.Version, "4.")],
			"SPARK_DAEMON_MEMORY": "512m", "SPARK_DAEMON_CLASSPATH": extra,
			"SPARK_DAEMON_JAVA_OPTS": `-Da=1 -Dquoted="x y" -Desc=a\ b`,
			"SPARK_MASTER_OPTS":      "-Dmaster=1", "SPARK_WORKER_OPTS": "-Dworker=1", "SPARK_HISTORY_OPTS": "-Dhistory=1",
		}
		for _, c := range []spark.Command{
			d.MasterCommand("127.0.0.1", 7077, 8080, spark.NodeDirs{Conf: conf}),
			d.WorkerCommand("spark://127.0.0.1:7077", "127.0.0.1", 7078, 8081, 2, 1024, spark.NodeDirs{Conf: conf, Work: t.TempDir()}),
			d.HistoryCommand("127.0.0.1", 18080, "file:///tmp/events", "", spark.NodeDirs{Conf: conf}),
		} {
			t.Run(d.Version+"/"+filepath.Ext(c.Args[1])[1:], func(t *testing.T) {
				want := launcherCommand(t, d, env, c.Args[1], c.Args[2:]...)
				got, ok := d.Direct(c, env, "")
				if !ok {
					t.Fatalf("Direct refused %v", c.Args)
				}
				if got.Args[0] != want[0] || got.Args[1] != "-cp" || want[1] != "-cp" {
					t.Fatalf("java: got %v, spark-class %v", got.Args[:2], want[:2])
				}
				gotCP, wantCP := strings.Split(got.Args[2], ":"), strings.Split(want[2], ":")
				if !strings.HasSuffix(gotCP[len(d.JarsPrefix())-1], "/jars/*") {
					t.Errorf("classpath %v does not begin with the jars", gotCP)
				}
				slices.Sort(gotCP)
				slices.Sort(wantCP)
				if !slices.Equal(gotCP, wantCP) {
					t.Errorf("classpath entries:\n got %v\nwant %v", gotCP, wantCP)
				}
				if !slices.Equal(got.Args[3:], want[3:]) {
					t.Errorf("options, class and arguments:\n got %q\nwant %q", got.Args[3:], want[3:])
				}
			})
		}
	}
}
