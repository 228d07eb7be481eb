package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
	"github.com/hearthcluster/hearth/objstore"
	"github.com/hearthcluster/hearth/spark"
)

// stepRunner runs one step on the master node: it fetches the step's files,
// runs its command in a process group of its own, ships its controller,
// stdout and stderr logs to the control plane as they are written, and
// reports how it ended.
type stepRunner struct {
	a    *Agent
	run  hearth.StepRun
	dir  string
	dist spark.Distribution
	url  string // the cluster's master
	host string // the node's address
	// driverOpts is the agent's driverOpts when the step started.
	driverOpts string
	// masterUI is the master's web UI (http://host:port), when the agent
	// can sign requests to it; "" otherwise.
	masterUI string
	// executorCores is the cluster's spark.executor.cores (0 if unset), for
	// translating a YARN executor count.
	executorCores int
	// defaultDriverJavaOpts is the cluster's spark.driver.extraJavaOptions.
	defaultDriverJavaOpts string
	// s3 is the cluster's object store access (nil: none).
	s3 *hearth.S3Access

	mu        sync.Mutex
	pid       int
	started   bool
	done      bool
	cancelled bool
	exit      int
	failure   *hearth.FailureDetails
	cancel    chan string // receives the cancel option
	ctrl      *os.File
}

func (a *Agent) startStep(run hearth.StepRun, dist spark.Distribution, masterURL string) *stepRunner {
	r := &stepRunner{a: a, run: run, dist: dist, url: masterURL, host: a.plan.Host, driverOpts: a.driverOpts,
		masterUI: a.signedMasterUI(), executorCores: atoi(a.plan.Conf.SparkDefaults["spark.executor.cores"]),
		defaultDriverJavaOpts: a.plan.Conf.SparkDefaults["spark.driver.extraJavaOptions"],
		dir:                   filepath.Join(a.cfg.Dir, "steps", run.Id), cancel: make(chan string, 1)}
	if a.plan.Secrets != nil {
		r.s3 = a.plan.Secrets.S3
	}
	if _, err := os.Stat(filepath.Join(r.dir, "controller")); err == nil {
		// A previous agent started this step and died: its outcome is lost.
		r.done, r.exit = true, -1
		r.failure = &hearth.FailureDetails{Reason: "Agent restarted", Message: "the node agent restarted while the step ran; its outcome is unknown"}
		return r
	}
	go r.execute()
	return r
}

func (r *stepRunner) report() hearth.StepReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return hearth.StepReport{Id: r.run.Id, Pid: r.pid, Started: r.started, Done: r.done, Cancelled: r.cancelled, ExitCode: r.exit, Failure: r.failure}
}

func (r *stepRunner) requestCancel(option string) {
	select {
	case r.cancel <- option:
	default:
	}
}

// logf writes a line to the step's controller log.
func (r *stepRunner) logf(format string, args ...any) {
	if r.ctrl != nil {
		fmt.Fprintf(r.ctrl, "%s INFO %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, args...))
	}
}

func (r *stepRunner) execute() {
	ctx, stopShipping := context.WithCancel(context.Background())
	shipped := make(chan struct{})
	exit, failure, cancelled := func() (int, *hearth.FailureDetails, bool) {
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			close(shipped)
			return -1, &hearth.FailureDetails{Reason: "Setup failed", Message: err.Error()}, false
		}
		ctrl, err := os.OpenFile(filepath.Join(r.dir, "controller"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			close(shipped)
			return -1, &hearth.FailureDetails{Reason: "Setup failed", Message: err.Error()}, false
		}
		r.ctrl = ctrl
		go func() { r.ship(ctx); close(shipped) }()
		r.logf("Step %s (%s) on node %s", r.run.Id, r.run.Name, r.a.cfg.NodeID)
		args, env, err := r.command()
		if err != nil {
			r.logf("ERROR %v", err)
			return -1, &hearth.FailureDetails{Reason: "Bad step", Message: err.Error()}, false
		}
		r.logf("Running: %s", strings.Join(args, " "))
		return r.runProcess(args, env)
	}()
	if r.ctrl != nil {
		if cancelled {
			r.logf("Step cancelled")
		} else {
			r.logf("Step exited with status %d", exit)
		}
	}
	stopShipping()
	<-shipped // every byte is at the control plane before the outcome is
	if r.ctrl != nil {
		r.ctrl.Close()
	}
	r.mu.Lock()
	r.done, r.exit, r.failure, r.cancelled = true, exit, failure, cancelled
	r.mu.Unlock()
	r.a.wake()
}

func (r *stepRunner) runProcess(args, env []string) (int, *hearth.FailureDetails, bool) {
	stdout, err := os.Create(filepath.Join(r.dir, "stdout"))
	if err != nil {
		return -1, &hearth.FailureDetails{Reason: "Setup failed", Message: err.Error()}, false
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(r.dir, "stderr"))
	if err != nil {
		return -1, &hearth.FailureDetails{Reason: "Setup failed", Message: err.Error()}, false
	}
	defer stderr.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = r.dir
	cmd.Env = append(append(os.Environ(), env...), "HEARTH_STEP_ID="+r.run.Id)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.logf("ERROR start: %v", err)
		return -1, &hearth.FailureDetails{Reason: "Command not found", Message: err.Error()}, false
	}
	r.mu.Lock()
	r.pid, r.started = cmd.Process.Pid, true
	r.mu.Unlock()
	r.logf("Started process %d", cmd.Process.Pid)
	r.a.wake()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL) // anything the step left behind
		code := exitCode(err)
		if driver, state := r.collectDriver(); driver != "" && state != "FINISHED" && code == 0 {
			// spark-submit exits 0 in cluster mode whatever the driver did.
			r.logf("Driver %s ended %s", driver, state)
			code = 1
		}
		if code != 0 {
			return code, failureFrom(r.dir, code), false
		}
		return 0, nil, false
	case option := <-r.cancel:
		r.logf("Cancelling (%s): stopping process group %d", option, cmd.Process.Pid)
		if option == "TERMINATE_PROCESS" {
			proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		} else {
			terminateGroup(cmd.Process.Pid, exited)
		}
		proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL)
		r.killDriver(env)
		return 130, nil, true
	}
}

var (
	submittedDriver = regexp.MustCompile(`Driver successfully submitted as (driver-[0-9]+-[0-9]+)`)
	driverWorker    = regexp.MustCompile(`Driver running on \S+ \((worker-\S+)\)`)
	driverEnd       = regexp.MustCompile(`State of driver (driver-[0-9]+-[0-9]+) is ([A-Z]+), exiting`)
)

// collectDriver handles a step that ran spark-submit in cluster deploy mode:
// the driver ran on a worker, so its stdout and stderr are fetched from that
// worker's UI and appended to the step's own, where users look for them. It
// returns the driver id and its final state ("" when the step launched no
// driver).
func (r *stepRunner) collectDriver() (driver, state string) {
	b, err := os.ReadFile(filepath.Join(r.dir, "stderr"))
	if err != nil {
		return "", ""
	}
	m := submittedDriver.FindSubmatch(b)
	if m == nil {
		return "", ""
	}
	driver, state = string(m[1]), "UNKNOWN"
	if e := driverEnd.FindSubmatch(b); e != nil {
		state = string(e[2])
	}
	r.a.mu.Lock()
	watch := r.a.master
	r.a.mu.Unlock()
	if watch == nil {
		return driver, state
	}
	// The master knows on which worker every driver ran (the spark-submit
	// log names it only if the driver was still running at its first poll).
	workerID, ui := "", ""
	if w := driverWorker.FindSubmatch(b); w != nil {
		workerID = string(w[1])
	}
	if j, err := watch.drivers(); err == nil {
		if wid := j.driverWorker(driver); wid != "" {
			workerID = wid
		}
		ui = j.workerUI(workerID)
	}
	if ui == "" {
		r.logf("Driver %s ran on worker %q, whose UI is unknown; its logs stay there", driver, workerID)
		return driver, state
	}
	for _, stream := range []string{"stdout", "stderr"} {
		text, err := workerLog(ui, driver, stream, r.a.authorizeUI)
		if err != nil {
			r.logf("ERROR fetch driver %s %s from %s: %v", driver, stream, ui, err)
			continue
		}
		f, err := os.OpenFile(filepath.Join(r.dir, stream), os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			continue
		}
		if stream == "stderr" {
			fmt.Fprintf(f, "==== driver %s stderr (on %s) ====\n", driver, workerID)
		}
		f.WriteString(text)
		f.Close()
		r.logf("Appended driver %s %s (%d bytes) from %s", driver, stream, len(text), workerID)
	}
	return driver, state
}

// workerLog reads a driver's log through its worker's UI.
func workerLog(ui, driver, stream string, authorize func(*http.Request)) (string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/log/?driverId=%s&logType=%s&byteLength=10485760", strings.TrimRight(ui, "/"), driver, stream), nil)
	if err != nil {
		return "", err
	}
	authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 11<<20))
	if err != nil {
		return "", err
	}
	text := string(b)
	if strings.HasPrefix(text, "==== Bytes ") { // the page's header line
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	return text, nil
}

// killDriver stops the driver a cluster-mode spark-submit launched on a
// worker: killing spark-submit alone leaves it running there.
func (r *stepRunner) killDriver(env []string) {
	b, err := os.ReadFile(filepath.Join(r.dir, "stderr"))
	if err != nil {
		return
	}
	m := submittedDriver.FindSubmatch(b)
	if m == nil {
		return
	}
	r.logf("Killing driver %s", m[1])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r.masterUI != "" {
		// The master's UI kills drivers for requests signed with the
		// cluster's UI key. (The legacy client below would need the RPC
		// secret, which spark-class does not hand a plain class.)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.masterUI+"/driver/kill/?terminate=true&id="+neturl.QueryEscape(string(m[1])), nil)
		if err == nil {
			r.a.authorizeUI(req)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 400 {
					r.awaitDriverGone(ctx, string(m[1]))
					return
				}
				err = fmt.Errorf("%s", resp.Status)
			}
			r.logf("ERROR kill driver %s through the master UI: %v", m[1], err)
		}
	}
	// spark-submit --kill needs the master's REST server, off by default;
	// the legacy client speaks the master's own RPC.
	kill := exec.CommandContext(ctx, filepath.Join(r.dist.Home, "bin", "spark-class"), "org.apache.spark.deploy.Client", "kill", r.url, string(m[1]))
	kill.Env = append(os.Environ(), env...)
	if out, err := kill.CombinedOutput(); err != nil {
		r.logf("ERROR kill driver %s: %v: %s", m[1], err, lastLines(out, 5))
	}
}

// awaitDriverGone waits until the master no longer lists driver as active:
// the UI's kill only asks the worker, which reports back later, and a
// cancelled step must not leave its driver holding the worker's cores.
func (r *stepRunner) awaitDriverGone(ctx context.Context, driver string) {
	r.a.mu.Lock()
	watch := r.a.master
	r.a.mu.Unlock()
	if watch == nil {
		return // not on the master node: nothing here reads its state
	}
	for {
		if j, err := watch.drivers(); err == nil && !j.isActive(driver) {
			r.logf("Driver %s is no longer running", driver)
			return
		}
		select {
		case <-ctx.Done():
			r.logf("ERROR driver %s still listed as running after the kill", driver)
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// command builds the step's argv and environment. command-runner.jar runs
// its Args (spark-submit gets this distribution's binary and the cluster's
// master); script-runner.jar runs the script at Args[0]; any other jar is an
// application submitted with spark-submit --class MainClass.
func (r *stepRunner) command() (args, env []string, err error) {
	cfg := r.run.Config
	env = append(r.dist.Env(r.host, r.a.dirs), "PYSPARK_PYTHON="+python())
	env = append(env, s3Env(r.s3)...)
	switch {
	case hearth.IsCommandRunner(cfg.Jar):
		if args, err = r.emrCommand(append([]string{}, cfg.Args...)); err != nil {
			return nil, nil, err
		}
	case hearth.IsScriptRunner(cfg.Jar):
		args = append([]string{}, cfg.Args...)
	default:
		args = []string{"spark-submit"}
		if cfg.MainClass != "" {
			args = append(args, "--class", cfg.MainClass)
		}
		args = append(append(args, cfg.Jar), cfg.Args...)
	}
	program := 0 // script-runner's script
	if args[0] == "spark-submit" {
		program = hearth.SparkSubmitAppIndex(args)
	}
	for i, a := range args {
		if objstore.IsS3(a) && i != program {
			continue // data: Spark reads s3:// itself, through S3A
		}
		if local, err := r.fetch(a); err != nil {
			return nil, nil, err
		} else if local != "" {
			args[i] = local
		}
	}
	if hearth.IsScriptRunner(cfg.Jar) {
		os.Chmod(args[0], 0o755)
		return append([]string{"/bin/sh"}, args...), env, nil
	}
	if args[0] == "spark-submit" {
		args = r.sparkSubmit(args)
	}
	return args, env, nil
}

// sparkSubmit points a spark-submit command line at this cluster.
func (r *stepRunner) sparkSubmit(args []string) []string {
	out := []string{r.dist.SubmitPath()}
	rest, hasMaster := r.translateYARN(args[1:])
	args = append([]string{args[0]}, rest...)
	if !hasMaster {
		out = append(out, "--master", r.url)
	}
	for _, kv := range r.run.Config.Properties {
		out = append(out, "--conf", kv.Key+"="+kv.Value)
	}
	app := hearth.SparkSubmitAppIndex(args)
	python := app > 0 && strings.HasSuffix(args[app], ".py")
	var driverJavaOpts string
	if r.driverOpts != "" && !python && slices.Contains(rest, "--deploy-mode") {
		rest, driverJavaOpts = withoutDriverJavaOptions(rest, app-1, r.defaultDriverJavaOpts)
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--deploy-mode" && i+1 < len(rest) && rest[i+1] == "cluster" {
			if python {
				// Spark's standalone manager cannot run Python drivers in
				// cluster mode; the step already runs on the master node,
				// which is where the driver then runs.
				r.logf("Spark standalone does not run Python applications in cluster deploy mode; running the driver on the master node (client mode)")
				out = append(out, "--deploy-mode", "client")
			} else {
				out = append(out, "--deploy-mode", "cluster", "--conf", "spark.standalone.submit.waitAppCompletion=true")
				if r.driverOpts != "" {
					// The worker that runs the driver withholds the RPC
					// secret from it (SPARK-25078): it reads it from a
					// file. (The legacy client Spark submits cluster-mode
					// drivers with reads only extraJavaOptions.)
					out = append(out, "--conf", strings.TrimSpace("spark.driver.extraJavaOptions="+r.driverOpts+" "+driverJavaOpts))
				}
			}
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// withoutDriverJavaOptions removes the driver's Java options from the
// spark-submit options rest[:end] (--driver-java-options, or --conf
// spark.driver.extraJavaOptions) and returns them, or fallback (the
// cluster's spark-defaults value) when there are none, so Hearth's own can
// go first in the one setting Spark reads.
func withoutDriverJavaOptions(rest []string, end int, fallback string) ([]string, string) {
	var out []string
	opts := fallback
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if i < end && i+1 < len(rest) {
			if a == "--driver-java-options" {
				opts = rest[i+1]
				i++
				continue
			}
			if v, ok := strings.CutPrefix(rest[i+1], "spark.driver.extraJavaOptions="); a == "--conf" && ok {
				opts = v
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out, opts
}

// fetch brings a file://, http(s):// or s3:// argument into the step's
// directory and returns its local path ("" when a is not such a URI).
func (r *stepRunner) fetch(a string) (string, error) {
	if !strings.HasPrefix(a, "file://") && !strings.HasPrefix(a, "http://") && !strings.HasPrefix(a, "https://") && !objstore.IsS3(a) {
		return "", nil
	}
	dst, err := fetchTo(r.s3, a, filepath.Join(r.dir, "files"))
	if err != nil {
		return "", err
	}
	r.logf("Fetched %s", a)
	return dst, nil
}

func python() string {
	if p := os.Getenv("PYSPARK_PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// ship sends new bytes of the step's logs to the control plane every
// 200ms and, when ctx ends, everything left: the final flush keeps trying
// (the control plane may be restarting) for up to two minutes, because the
// step's outcome is reported only after it.
func (r *stepRunner) ship(ctx context.Context) {
	offsets := map[string]int64{}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		for _, stream := range hearth.LogStreams {
			r.shipStream(stream, offsets)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, stream := range hearth.LogStreams {
		for !r.shipStream(stream, offsets) && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// shipStream sends what the control plane lacks of one stream, a chunk at a
// time; it returns true once everything written so far is acknowledged.
func (r *stepRunner) shipStream(stream string, offsets map[string]int64) bool {
	for {
		f, err := os.Open(filepath.Join(r.dir, stream))
		if err != nil {
			return true // not written (yet)
		}
		data, _ := io.ReadAll(io.LimitReader(io.NewSectionReader(f, offsets[stream], 1<<20), 1<<20))
		f.Close()
		if len(data) == 0 {
			return true
		}
		var ack struct{ Size int64 }
		err = r.a.call(context.Background(), http.MethodPost, "/agent/v1/logs",
			hearth.LogChunk{StepId: r.run.Id, Stream: stream, Offset: offsets[stream], Data: data}, &ack)
		if err != nil {
			return errors.Is(err, ErrRejected) // rejected: the step or node is gone
		}
		offsets[stream] = ack.Size
	}
}

var (
	// Python's last traceback line: "ValueError: bad input",
	// "pyspark.errors.exceptions.captured.AnalysisException: ...".
	pyException = regexp.MustCompile(`^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)):?\s*(.*)$`)
	// A JVM exception: `Exception in thread "main" java.lang.X: msg`.
	jvmException = regexp.MustCompile(`(?:Exception in thread "[^"]*" )?((?:[a-z_]\w*\.)+[A-Z]\w*(?:Exception|Error)):?\s*(.*)$`)
)

// failureFrom reads a failed step's logs and names the exception that ended
// it: the last Python traceback line (PySpark's runner merges the Python
// process's stderr into stdout, so both streams are read), else the JVM
// exception after "Exception in thread", else the last one logged.
func failureFrom(dir string, exit int) *hearth.FailureDetails {
	var py, cause, thread, jvm *hearth.FailureDetails
	for _, stream := range []string{"stdout", "stderr"} {
		p, c, t, j := scanExceptions(filepath.Join(dir, stream))
		if p != nil {
			p.LogFile = stream
			py = p
		}
		if c != nil {
			c.LogFile = stream
			cause = c
		}
		if t != nil && thread == nil {
			t.LogFile = stream
			thread = t
		}
		if j != nil {
			j.LogFile = stream
			jvm = j
		}
	}
	for _, d := range []*hearth.FailureDetails{py, cause, thread, jvm} {
		if d != nil {
			if d.Message == "" {
				d.Message = d.Reason
			}
			d.Message = strings.TrimSpace(d.Message)
			return d
		}
	}
	return &hearth.FailureDetails{Reason: "Unknown error", Message: fmt.Sprintf("step exited with status %d; see its stderr", exit), LogFile: "stderr"}
}

// scanExceptions finds, in a log, the last Python traceback's exception,
// the last JVM "Caused by" (the root cause), the first "Exception in thread"
// and the last JVM exception line.
func scanExceptions(path string) (py, cause, thread, jvm *hearth.FailureDetails) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, nil
	}
	defer f.Close()
	inTraceback, py4j := false, false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Traceback (most recent call last)") {
			inTraceback = true
			continue
		}
		if inTraceback && !strings.HasPrefix(line, " ") && line != "" {
			if m := pyException.FindStringSubmatch(line); m != nil {
				py = &hearth.FailureDetails{Reason: m[1], Message: m[2]}
				py4j = m[1] == "py4j.protocol.Py4JJavaError"
			}
			inTraceback = false
			continue
		}
		if m := jvmException.FindStringSubmatch(line); m != nil {
			d := &hearth.FailureDetails{Reason: m[1], Message: m[2]}
			if py4j && strings.HasPrefix(line, ": ") {
				// py4j's "An error occurred while calling o50.partitions."
				// says little; the JVM's exception on the next line says what.
				py, py4j = d, false
			}
			switch {
			case strings.HasPrefix(line, "Caused by: "):
				cause = d
			case strings.Contains(line, "Exception in thread") && thread == nil:
				thread = d
			}
			jvm = d
		}
	}
	return py, cause, thread, jvm
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
