package spark

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// daemonOpts are, by daemon class, the variables spark-class reads that
// daemon's Java options from, in order (Spark's SparkClassCommandBuilder).
var daemonOpts = map[string][]string{
	"org.apache.spark.deploy.master.Master":         {"SPARK_DAEMON_JAVA_OPTS", "SPARK_MASTER_OPTS"},
	"org.apache.spark.deploy.worker.Worker":         {"SPARK_DAEMON_JAVA_OPTS", "SPARK_WORKER_OPTS"},
	"org.apache.spark.deploy.history.HistoryServer": {"SPARK_DAEMON_JAVA_OPTS", "SPARK_HISTORY_OPTS"},
}

// moduleOptions are the JVM options Spark 4's launcher adds to every JVM
// it starts (org.apache.spark.launcher.JavaModuleOptions); Spark 3.5 adds
// them to drivers and executors only. TestDirectMatchesSparkClass checks
// them against the launcher of each distribution.
var moduleOptions = []string{
	"-XX:+IgnoreUnrecognizedVMOptions",
	"--add-modules=jdk.incubator.vector",
	"--add-opens=java.base/java.lang=ALL-UNNAMED",
	"--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
	"--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
	"--add-opens=java.base/java.io=ALL-UNNAMED",
	"--add-opens=java.base/java.net=ALL-UNNAMED",
	"--add-opens=java.base/java.nio=ALL-UNNAMED",
	"--add-opens=java.base/java.util=ALL-UNNAMED",
	"--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
	"--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
	"--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
	"--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
	"--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
	"--add-opens=java.base/sun.security.action=ALL-UNNAMED",
	"--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
	"--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
	"-Djdk.reflect.useDirectMethodHandle=false",
	"-Dio.netty.tryReflectionSetAccessible=true",
}

// Direct turns a daemon command built for bin/spark-class into the java
// command spark-class would exec, so no launcher JVM starts first (it costs
// a second of CPU per daemon on a small host). env is the daemon's
// environment as spark-class would see it (the caller's, plus spark-env.sh's
// variables). It differs from Spark's launcher in one way, on purpose: the
// distribution's jars come first on the classpath and the configuration
// directory after them, so the classpath starts the same on every node of
// a host and one class-data archive (archive, "" for none) serves them all.
// Nothing in Spark's jars shadows a file of the configuration directory.
// ok is false when c is not a daemon command Direct knows, or no java is
// found: run c as it is then.
func (d Distribution) Direct(c Command, env map[string]string, archive string) (direct Command, ok bool) {
	if len(c.Args) < 2 || c.Args[0] != filepath.Join(d.Home, "bin", "spark-class") || daemonOpts[c.Args[1]] == nil {
		return c, false
	}
	class, args := c.Args[1], c.Args[2:]
	java, ok := JavaBinary(env)
	if !ok {
		return c, false
	}
	argv := []string{java, "-cp", strings.Join(d.daemonClassPath(env), ":")}
	for _, k := range daemonOpts[class] {
		argv = append(argv, parseOptions(env[k])...)
	}
	mem := env["SPARK_DAEMON_MEMORY"]
	if mem == "" {
		mem = "1g"
	}
	argv = append(argv, "-Xmx"+mem)
	if d.major() >= 4 {
		argv = append(argv, moduleOptions...)
	}
	if archive != "" {
		argv = append(argv, cdsOptions(archive)...)
	}
	argv = append(append(argv, class), args...)
	// What spark-class's load-spark-env.sh exports.
	direct = Command{Args: argv, Env: append(append([]string{}, c.Env...), "SPARK_ENV_LOADED=1", "SPARK_SCALA_VERSION="+scalaBinary(d.Version))}
	return direct, true
}

// JavaBinary is the java a Spark daemon runs with, given its environment
// env: $JAVA_HOME's, else the one on PATH (by its real path, as Spark's
// launcher names its own java.home's). ok is false when there is none.
func JavaBinary(env map[string]string) (java string, ok bool) {
	if home := env["JAVA_HOME"]; home != "" {
		return filepath.Join(home, "bin", "java"), true
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return p, true
}

// JarsPrefix is how every daemon's classpath begins, the part a
// class-data archive records.
func (d Distribution) JarsPrefix() []string { return d.jarsClassPath() }

// jarsClassPath is how every daemon's classpath begins: the distribution's
// jars (Spark 4's launcher names slf4j-api first, so that it is the SLF4J
// every other jar binds to).
func (d Distribution) jarsClassPath() []string {
	jars := filepath.Join(d.Home, "jars")
	var cp []string
	if d.major() >= 4 {
		if m, _ := filepath.Glob(filepath.Join(jars, "slf4j-api-*.jar")); len(m) > 0 {
			cp = append(cp, m[0])
		}
	}
	return append(cp, filepath.Join(jars, "*"))
}

// daemonClassPath is spark-class's classpath with the jars moved first.
func (d Distribution) daemonClassPath(env map[string]string) []string {
	cp := d.jarsClassPath()
	add := func(entries string) {
		for _, e := range strings.Split(entries, ":") {
			if e == "" {
				continue
			}
			if fi, err := os.Stat(e); err == nil && fi.IsDir() && !strings.HasSuffix(e, "/") {
				e += "/"
			}
			cp = append(cp, e)
		}
	}
	add(env["SPARK_CLASSPATH"])
	add(env["SPARK_DAEMON_CLASSPATH"])
	conf := env["SPARK_CONF_DIR"]
	if conf == "" {
		conf = filepath.Join(d.Home, "conf")
	}
	add(conf)
	add(env["HADOOP_CONF_DIR"])
	add(env["YARN_CONF_DIR"])
	add(env["SPARK_DIST_CLASSPATH"])
	return cp
}

func (d Distribution) major() int {
	m, _, _ := strings.Cut(d.Version, ".")
	n, _ := strconv.Atoi(m)
	return n
}

// parseOptions splits a Java options string the way Spark's launcher does
// (CommandBuilderUtils.parseOptionString): on whitespace, with single and
// double quotes grouping and a backslash escaping the next character.
func parseOptions(s string) []string {
	var out []string
	var cur strings.Builder
	inOpt, escape := false, false
	var quote rune
	for _, r := range s {
		switch {
		case escape:
			cur.WriteRune(r)
			escape = false
		case r == '\\' && quote != '\'':
			escape, inOpt = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inOpt = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inOpt {
				out = append(out, cur.String())
				cur.Reset()
				inOpt = false
			}
		default:
			cur.WriteRune(r)
			inOpt = true
		}
	}
	if inOpt {
		out = append(out, cur.String())
	}
	return out
}
