package spark

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/internal/proc"
)

// Class-data sharing (AppCDS): the classes a Spark daemon loads at start,
// parsed and verified once and mapped from an archive by every later JVM,
// roughly halve a daemon's start-up CPU. One archive serves a distribution
// on one Java: its name hashes both, so new jars or another JVM simply
// mean another archive, and a daemon given a stale one starts without it
// (-Xshare:auto).

// CDSArchive is where the archive for d on java lives in dir.
func CDSArchive(dir string, d Distribution, java Java) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%s\n", cdsTraining, java.Path, java.Version, d.Home, d.Version)
	entries, _ := os.ReadDir(filepath.Join(d.Home, "jars"))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return filepath.Join(dir, fmt.Sprintf("spark-%s-java%d-%s.jsa", d.Version, java.Major, hex.EncodeToString(h.Sum(nil))[:12]))
}

// cdsOptions are the Java options that map archive, -Xshare:auto so that
// one that does not match (another JVM, other jars, corrupt) is ignored.
func cdsOptions(archive string) []string {
	return []string{"-XX:SharedArchiveFile=" + archive, "-Xshare:auto"}
}

// WithCDS returns spark-defaults that start step drivers and their
// executors from archive, the host's class-data archive: their classpaths
// begin with JarsPrefix, as the archive's does (Spark's launcher puts
// extraClassPath before the conf directory and skips the jars it already
// has), and their Java options map it (cdsOptions). Options already set
// come after Hearth's, so they win.
func (d Distribution) WithCDS(defaults map[string]string, archive string) map[string]string {
	out := maps.Clone(defaults)
	if out == nil {
		out = map[string]string{}
	}
	prefix := strings.Join(d.JarsPrefix(), ":")
	opts := strings.Join(cdsOptions(archive), " ")
	for _, role := range []string{"driver", "executor"} {
		cp, jo := "spark."+role+".extraClassPath", "spark."+role+".extraJavaOptions"
		out[cp] = strings.TrimSuffix(prefix+":"+out[cp], ":")
		out[jo] = strings.TrimSpace(opts + " " + out[jo])
	}
	return out
}

// cdsTraining names what a training runs: a new one means new archives.
const cdsTraining = "daemons+job"

// cdsTrainTimeout bounds a training run: a master and a worker starting on
// a busy host, then the dump.
const cdsTrainTimeout = 5 * time.Minute

// ErrCDSBusy means another process is building the same archive.
var ErrCDSBusy = errors.New("the class-data archive is being built by another process")

// BuildCDS makes the archive CDSArchive names, unless it exists: it runs a
// master and a worker of d on loopback (authenticated with a throwaway
// secret) until the worker has registered, records the classes both
// loaded, and dumps them. The archive appears whole or not at all. One
// build at a time per archive: others get ErrCDSBusy (a lock file, taken
// over when older than the training's time limit).
func (d Distribution) BuildCDS(ctx context.Context, java Java, dir string) (string, error) {
	final := CDSArchive(dir, d, java)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return "", err
	}
	lock := final + ".lock"
	if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) > cdsTrainTimeout+time.Minute {
		os.Remove(lock) // its builder died
	}
	l, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", ErrCDSBusy
	}
	l.Close()
	defer os.Remove(lock)
	ctx, cancel := context.WithTimeout(ctx, cdsTrainTimeout)
	defer cancel()
	tmp, err := os.MkdirTemp(dir, ".cds-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	conf, work := filepath.Join(tmp, "conf"), filepath.Join(tmp, "work")
	for _, p := range []string{conf, work} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return "", err
		}
	}
	// Nothing but this training may use the daemons: RPC and UIs are
	// locked as a cluster's are, with keys nobody keeps.
	var defaults strings.Builder
	for _, m := range []map[string]string{SecurityDefaults(d.Version), SecretDefaults(d.Version, NewUIKey(), NewUIKey())} {
		for k, v := range m {
			fmt.Fprintf(&defaults, "%s %s\n", k, v)
		}
	}
	if err := WritePrivate(filepath.Join(conf, "spark-defaults.conf"), []byte(defaults.String())); err != nil {
		return "", err
	}
	ports, err := freePorts(4)
	if err != nil {
		return "", err
	}
	env := map[string]string{
		"SPARK_HOME": d.Home, "SPARK_CONF_DIR": conf, "SPARK_LOG_DIR": tmp, "SPARK_WORKER_DIR": work,
		"SPARK_LOCAL_DIRS": work, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": DaemonMemory, "JAVA_HOME": java.Home,
	}
	if NeedsUIFilterJar(d.Version) {
		jar, err := WriteUIFilterJar(filepath.Join(tmp, "lib"))
		if err != nil {
			return "", err
		}
		env["SPARK_DAEMON_CLASSPATH"] = jar
	}
	run := func(name string, c Command, ready string) (*trainee, error) {
		env := maps.Clone(env)
		env["SPARK_DAEMON_JAVA_OPTS"] = "-XX:DumpLoadedClassList=" + filepath.Join(tmp, name+".classes")
		direct, ok := d.Direct(c, env, "")
		if !ok {
			return nil, fmt.Errorf("no java command for the %s", name)
		}
		log := filepath.Join(tmp, name+".log")
		out, err := os.Create(log)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		cmd := exec.Command(direct.Args[0], direct.Args[1:]...)
		cmd.Env = append(environ(env), direct.Env...)
		cmd.Stdout, cmd.Stderr = out, out
		// Its own group, so stop reaches the whole JVM; and it dies with
		// the process that trains, whatever kills that.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		t := &trainee{cmd: cmd, done: make(chan struct{})}
		go func() { cmd.Wait(); close(t.done) }()
		for !fileContains(log, ready) {
			select {
			case <-t.done:
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
				continue
			}
			t.stop()
			return nil, fmt.Errorf("the %s did not start for the class-data training: %s", name, lastLine(readFile(log)))
		}
		return t, nil
	}
	dirs := NodeDirs{Conf: conf, Logs: tmp, Work: work, Local: work}
	master, err := run("master", d.MasterCommand("127.0.0.1", ports[0], ports[1], dirs), "I have been elected leader")
	if err != nil {
		return "", err
	}
	defer master.stop()
	worker, err := run("worker", d.WorkerCommand(fmt.Sprintf("spark://127.0.0.1:%d", ports[0]), "127.0.0.1", ports[2], ports[3], 1, 512, dirs), "Successfully registered with master")
	if err != nil {
		return "", err
	}
	lists := []string{filepath.Join(tmp, "master.classes"), filepath.Join(tmp, "worker.classes")}
	// A small PySpark job on them records what a step's driver and its
	// executors load. Without Python it is left out: the archive then
	// serves daemons fully and drivers and executors in part.
	if err := d.trainJob(ctx, tmp, fmt.Sprintf("spark://127.0.0.1:%d", ports[0]), env); err == nil {
		lists = append(lists, filepath.Join(tmp, "driver.classes"), filepath.Join(tmp, "executor.classes"))
	}
	worker.stop()
	master.stop()

	list := filepath.Join(tmp, "classes")
	if err := mergeClassLists(list, lists...); err != nil {
		return "", err
	}
	archive := filepath.Join(tmp, "spark.jsa")
	args := []string{"-Xshare:dump", "-XX:SharedClassListFile=" + list, "-XX:SharedArchiveFile=" + archive, "-cp", strings.Join(d.JarsPrefix(), ":")}
	if d.major() >= 4 {
		args = append(args, moduleOptions...)
	}
	dump := exec.CommandContext(ctx, filepath.Join(java.Home, "bin", "java"), args...)
	if out, err := dump.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dump the class-data archive: %v: %s", err, lastLine(string(out)))
	}
	if err := os.Rename(archive, final); err != nil {
		return "", err
	}
	return final, nil
}

// trainingJob is the PySpark program of a training: an RDD shuffle with
// Python lambdas and a DataFrame aggregation, as a typical step does.
const trainingJob = `from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("hearth class-data training").getOrCreate()
rdd = spark.sparkContext.parallelize(range(1000), 2)
print(rdd.map(lambda x: (x % 7, 1)).reduceByKey(lambda a, b: a + b).count())
print(spark.range(1000).selectExpr("id % 3 AS k").groupBy("k").count().count())
spark.stop()
`

// trainJob runs trainingJob on the training's master with its driver and
// executors recording the classes they load in tmp.
func (d Distribution) trainJob(ctx context.Context, tmp, master string, env map[string]string) error {
	job := filepath.Join(tmp, "train.py")
	if err := os.WriteFile(job, []byte(trainingJob), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, d.SubmitPath(), "--master", master,
		"--conf", "spark.driver.extraJavaOptions=-XX:DumpLoadedClassList="+filepath.Join(tmp, "driver.classes"),
		"--conf", "spark.executor.extraJavaOptions=-XX:DumpLoadedClassList="+filepath.Join(tmp, "executor.classes"),
		"--conf", "spark.executor.memory=512m", "--conf", "spark.ui.enabled=false", job)
	cmd.Env = environ(env)
	if d.PythonPath != "" {
		cmd.Env = append(cmd.Env, "PYTHONPATH="+d.PythonPath)
	}
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("the training job: %v: %s", err, lastLine(string(out)))
	}
	// The executor writes the end of its list as it exits, after the
	// driver: wait for the file to stop growing.
	last, still := int64(-1), 0
	for range 100 {
		fi, err := os.Stat(filepath.Join(tmp, "executor.classes"))
		if err == nil && fi.Size() == last {
			if still++; still == 3 {
				return nil
			}
		} else {
			still = 0
		}
		if err == nil {
			last = fi.Size()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the training job's executor recorded no classes")
}

// environ is this process's environment with env added.
func environ(env map[string]string) []string {
	out := os.Environ()
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// mergeClassLists writes the union of class lists, first seen first.
func mergeClassLists(dst string, lists ...string) error {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		f, err := os.Open(l)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") || line == "" || seen[line] {
				continue
			}
			seen[line] = true
			out = append(out, line)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if len(out) == 0 {
		return errors.New("the training recorded no classes")
	}
	return os.WriteFile(dst, []byte(strings.Join(out, "\n")+"\n"), 0o600)
}

// trainee is a daemon of a training run.
type trainee struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// stop ends the daemon's process group, SIGTERM then SIGKILL, and waits:
// a JVM writes its class list as it exits.
func (t *trainee) stop() {
	select {
	case <-t.done:
		return
	default:
	}
	proc.SignalGroup(t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(20 * time.Second):
		proc.SignalGroup(t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
	}
}

func fileContains(path, s string) bool {
	return strings.Contains(readFile(path), s)
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return string(b)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	if slices.Contains(ports, 0) {
		return nil, errors.New("no free port")
	}
	return ports, nil
}
