package spark_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// A class-data archive built by a training run maps into a daemon JVM with
// a node's classpath (the jars, then a configuration directory); a corrupt
// one is ignored and the daemon still starts.
func TestCDSArchive(t *testing.T) {
	d := testDistributions(t)[0] // Spark 4.0.1
	java, err := spark.FindJava(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	archive, err := d.BuildCDS(context.Background(), java, dir)
	if err != nil {
		t.Fatal(err)
	}
	if archive != spark.CDSArchive(dir, d, java) {
		t.Errorf("archive %s, want %s", archive, spark.CDSArchive(dir, d, java))
	}
	if again, err := d.BuildCDS(context.Background(), java, dir); err != nil || again != archive {
		t.Errorf("a second build: %s, %v; want the same archive, untouched", again, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".cds-*")); len(left) > 0 {
		t.Errorf("training left %v", left)
	}

	// -Xshare:on fails unless the archive maps with this classpath.
	conf := t.TempDir()
	cp := strings.Join(append(d.JarsPrefix(), conf+"/"), ":")
	out, err := exec.Command(filepath.Join(java.Home, "bin", "java"), "-Xshare:on", "-XX:SharedArchiveFile="+archive, "-cp", cp, "-version").CombinedOutput()
	if err != nil {
		t.Errorf("the archive does not map with a node's classpath: %v\n%s", err, out)
	}

	// The training ran a job: a step's driver and executors find their
	// classes in the archive too.
	out, _ = exec.Command(filepath.Join(java.Home, "bin", "java"), "-Xshare:on", "-XX:SharedArchiveFile="+archive, "-Xlog:class+load=info",
		"-cp", cp, "org.apache.spark.executor.CoarseGrainedExecutorBackend").CombinedOutput()
	if !regexp.MustCompile(`org\.apache\.spark\.executor\.CoarseGrainedExecutorBackend source: shared objects file`).Match(out) {
		t.Errorf("the executor's main class is not in the archive:\n%.3000s", out)
	}

	// A corrupt archive: the master starts anyway.
	bad := filepath.Join(t.TempDir(), "bad.jsa")
	os.WriteFile(bad, []byte("not an archive"), 0o644)
	c := d.MasterCommand("127.0.0.1", freePort(t), freePort(t), spark.NodeDirs{Conf: conf, Logs: t.TempDir()})
	direct, ok := d.Direct(c, map[string]string{"SPARK_HOME": d.Home, "SPARK_CONF_DIR": conf, "JAVA_HOME": java.Home}, bad)
	if !ok {
		t.Fatal("Direct refused the master")
	}
	cmd := exec.Command(direct.Args[0], direct.Args[1:]...)
	cmd.Env = append(append(os.Environ(), "SPARK_HOME="+d.Home, "SPARK_CONF_DIR="+conf), direct.Env...)
	logPath := filepath.Join(t.TempDir(), "master.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, _ := os.ReadFile(logPath)
		if strings.Contains(string(out), "I have been elected leader") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master given a corrupt archive did not start:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestWithCDS: drivers and executors get the archive's jars first and the
// archive's options first; what a cluster already set follows, untouched.
func TestWithCDS(t *testing.T) {
	d := spark.Distribution{Home: "/opt/spark", Version: "3.5.5"}
	in := map[string]string{"spark.driver.extraClassPath": "/s3a.jar", "spark.executor.extraJavaOptions": "-Xshare:off", "spark.app.name": "x"}
	got := d.WithCDS(in, "/cds/a.jsa")
	want := map[string]string{
		"spark.driver.extraClassPath":     "/opt/spark/jars/*:/s3a.jar",
		"spark.executor.extraClassPath":   "/opt/spark/jars/*",
		"spark.driver.extraJavaOptions":   "-XX:SharedArchiveFile=/cds/a.jsa -Xshare:auto",
		"spark.executor.extraJavaOptions": "-XX:SharedArchiveFile=/cds/a.jsa -Xshare:auto -Xshare:off",
		"spark.app.name":                  "x",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) || len(in) != 3 || in["spark.driver.extraClassPath"] != "/s3a.jar" {
		t.Errorf("WithCDS(%v) = %v: other keys changed, or its input was modified", in, got)
	}
}
