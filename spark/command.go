package spark

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Command is a process to run: its argv and the environment it adds to the
// caller's.
type Command struct {
	Args []string
	Env  []string
}

// NodeDirs are the directories a node gives Spark.
type NodeDirs struct {
	Conf  string // SPARK_CONF_DIR
	Logs  string // SPARK_LOG_DIR
	Work  string // worker application dirs (SPARK_WORKER_DIR)
	Local string // scratch space (SPARK_LOCAL_DIRS)
}

// DaemonMemory is the heap of the master and worker daemons themselves;
// Spark's 1g default is more than a standalone daemon needs.
const DaemonMemory = "512m"

// DaemonJavaOpts start Spark's daemons (master, workers, History Server)
// with the client compiler only: they do little work once up, and C2's
// compile threads doubled a master's start-up CPU on a 2-core host
// (4.5 s against 2.2 s) for code that runs rarely.
const DaemonJavaOpts = "-XX:TieredStopAtLevel=1"

// Env returns the environment every Spark process of a node runs with.
func (d Distribution) Env(host string, dirs NodeDirs) []string {
	env := []string{
		"SPARK_HOME=" + d.Home,
		"SPARK_CONF_DIR=" + dirs.Conf,
		"SPARK_LOG_DIR=" + dirs.Logs,
		"SPARK_LOCAL_DIRS=" + dirs.Local,
		"SPARK_WORKER_DIR=" + dirs.Work,
		"SPARK_LOCAL_IP=" + host,
		// Advertise the address, not the host name: peers reach it even
		// where nothing resolves this machine's name for them.
		"SPARK_LOCAL_HOSTNAME=" + host,
		"SPARK_DAEMON_MEMORY=" + DaemonMemory,
	}
	if d.PythonPath != "" {
		env = append(env, "PYTHONPATH="+d.PythonPath)
	}
	return env
}

// MasterCommand runs a standalone master in the foreground, as
// sbin/start-master.sh would have it run, without the daemonizing wrapper
// (which the pip-installed distribution does not ship).
func (d Distribution) MasterCommand(host string, port, webUIPort int, dirs NodeDirs) Command {
	return Command{
		Args: []string{
			filepath.Join(d.Home, "bin", "spark-class"), "org.apache.spark.deploy.master.Master",
			"--host", host, "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(webUIPort),
		},
		Env: d.Env(host, dirs),
	}
}

// WorkerCommand runs a standalone worker offering cores and memoryMB to the
// master at masterURL.
func (d Distribution) WorkerCommand(masterURL, host string, port, webUIPort, cores, memoryMB int, dirs NodeDirs) Command {
	return Command{
		Args: []string{
			filepath.Join(d.Home, "bin", "spark-class"), "org.apache.spark.deploy.worker.Worker",
			"--host", host, "--port", strconv.Itoa(port), "--webui-port", strconv.Itoa(webUIPort),
			"--cores", strconv.Itoa(cores), "--memory", fmt.Sprintf("%dm", memoryMB),
			"--work-dir", dirs.Work,
			masterURL,
		},
		Env: d.Env(host, dirs),
	}
}

// SubmitPath is the distribution's spark-submit.
func (d Distribution) SubmitPath() string { return filepath.Join(d.Home, "bin", "spark-submit") }

// HistoryCommand runs the Spark History Server over logDir (a file:// URI)
// with its UI on webUIPort; proxyBase, when set, prefixes the links it
// generates (it is served behind the control plane's gateway).
func (d Distribution) HistoryCommand(host string, webUIPort int, logDir, proxyBase string, dirs NodeDirs) Command {
	opts := fmt.Sprintf("-Dspark.history.ui.port=%d -Dspark.history.fs.logDirectory=%s -Dspark.history.fs.update.interval=2s", webUIPort, logDir)
	if proxyBase != "" {
		opts += " -Dspark.ui.proxyBase=" + proxyBase
	}
	return Command{
		Args: []string{filepath.Join(d.Home, "bin", "spark-class"), "org.apache.spark.deploy.history.HistoryServer"},
		Env:  append(d.Env(host, dirs), "SPARK_HISTORY_OPTS="+opts),
	}
}

// ConnectCommand runs the Spark Connect server against the cluster's master
// at masterURL, listening on host:port. It is itself a Spark application, so
// it releases idle executors (dynamic allocation with shuffle tracking)
// rather than holding the cluster's cores.
func (d Distribution) ConnectCommand(masterURL, host string, port int, dirs NodeDirs) Command {
	args := []string{d.SubmitPath(),
		"--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
		"--name", "Spark Connect server",
		"--master", masterURL,
		"--conf", "spark.connect.grpc.binding.address=" + host,
		"--conf", fmt.Sprintf("spark.connect.grpc.binding.port=%d", port),
		"--conf", "spark.dynamicAllocation.enabled=true",
		"--conf", "spark.dynamicAllocation.shuffleTracking.enabled=true",
		"--conf", "spark.dynamicAllocation.minExecutors=0",
		"--conf", "spark.dynamicAllocation.executorIdleTimeout=30s",
		"--conf", "spark.executor.instances=0",
	}
	if !d.hasJar("spark-connect_") { // Spark 3.x ships Connect as a package
		args = append(args, "--packages", fmt.Sprintf("org.apache.spark:spark-connect_%s:%s", scalaBinary(d.Version), d.Version))
	}
	args = append(args, "spark-internal")
	return Command{Args: args, Env: d.Env(host, dirs)}
}

func (d Distribution) hasJar(prefix string) bool {
	m, _ := filepath.Glob(filepath.Join(d.Home, "jars", prefix+"*.jar"))
	return len(m) > 0
}

// scalaBinary is the Scala version Spark v is built with by default.
func scalaBinary(v string) string {
	if strings.HasPrefix(v, "3.") || strings.HasPrefix(v, "2.") {
		return "2.12"
	}
	return "2.13"
}
