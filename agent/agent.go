package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/failover"
	"github.com/hearthcluster/hearth/pki"
	"github.com/hearthcluster/hearth/spark"
)

// Config is what an agent needs to start.
type Config struct {
	// ServerURL is the control plane's base URL, e.g.
	// http://127.0.0.1:8440, or a replicated one's URLs, comma-separated.
	ServerURL string
	NodeID    string
	Token     string // the node's credential; never logged
	Dir       string // the node's own directory
	Logger    *slog.Logger
	// Heartbeat is the report interval (default 2s).
	Heartbeat time.Duration
	// Locator finds the Spark runtime when the plan names no SparkHome.
	Locator *spark.Locator
	// CAPEM, when set, is the control plane's CA certificate: the only
	// root the agent trusts for ServerURL (https on other machines).
	CAPEM []byte
	// Host, on a machine the control plane does not share, is the address
	// the node's daemons bind: the agent chooses their ports there.
	Host string
	// RuntimeDir is where runtimes downloaded from the control plane are
	// installed, shared by the host's nodes.
	RuntimeDir string
}

// Agent converges one node on its plan.
type Agent struct {
	cfg  Config
	http *http.Client
	// servers are the control plane's URLs: several for replicas.
	servers *failover.Endpoints
	log     *slog.Logger
	dirs    spark.NodeDirs
	master  *masterWatch

	mu      sync.Mutex
	plan    hearth.Plan
	daemons map[string]*daemon
	steps   map[string]*stepRunner
	err     string
	// driverOpts is the JVM option that hands a cluster-mode driver the
	// cluster's RPC secret (spark.WriteAuthJVMOptions), "" without one.
	driverOpts string
	// filterJar is Hearth's Spark 3 UI filter jar, "" when not needed.
	filterJar string

	// uiKey signs requests to the node's Spark UIs ("" when they take
	// none); read without mu by the master watch and step runners.
	uiKey atomic.Value // string

	// wakeCh asks the main loop for an immediate report.
	wakeCh chan struct{}
	// again asks the main loop to converge on the current plan once more
	// (bootstrap actions finished).
	again   chan struct{}
	boot    bootstrapState
	jupyter jupyterState
	fetch   runtimeFetch
	// javaChecked is set once Java was found fit on a host the control
	// plane did not check itself.
	javaChecked bool

	metricsMu sync.Mutex
	metrics   *hearth.NodeMetrics // the newest sample not yet reported
}

// ErrRejected means the control plane does not accept this node's
// credential: the node was replaced or its cluster is gone. The agent exits.
var ErrRejected = errors.New("control plane rejected the node credential")

// New returns an agent for cfg.
func New(cfg Config) (*Agent, error) {
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if len(cfg.CAPEM) > 0 {
		tlsConf, err := pki.ClientConfig(cfg.CAPEM)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = tlsConf
	}
	servers := failover.New(cfg.ServerURL)
	return &Agent{
		cfg:     cfg,
		servers: servers,
		// Each call goes to the current server; one that is gone (a
		// replica killed) passes calls to the next.
		http: &http.Client{Timeout: 60 * time.Second, Transport: &failover.Transport{Endpoints: servers, Base: transport}},
		log:  cfg.Logger.With("node", cfg.NodeID),
		dirs: spark.NodeDirs{
			Conf:  filepath.Join(cfg.Dir, "conf"),
			Logs:  filepath.Join(cfg.Dir, "logs"),
			Work:  filepath.Join(cfg.Dir, "work"),
			Local: filepath.Join(cfg.Dir, "tmp"),
		},
		daemons: map[string]*daemon{},
		steps:   map[string]*stepRunner{},
		wakeCh:  make(chan struct{}, 1),
		again:   make(chan struct{}, 1),
	}, nil
}

// wake asks for a report now (a step started or ended).
func (a *Agent) wake() {
	select {
	case a.wakeCh <- struct{}{}:
	default:
	}
}

// Run registers and converges until the plan says stop (nil) or ctx is
// cancelled (ctx.Err()); either way every daemon is stopped first.
func (a *Agent) Run(ctx context.Context) error {
	for _, d := range []string{a.dirs.Conf, a.dirs.Logs, a.dirs.Work, a.dirs.Local, filepath.Join(a.cfg.Dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	host, _ := os.Hostname()
	reg := hearth.Registration{NodeId: a.cfg.NodeID, Pid: os.Getpid(), Hostname: host}
	if a.cfg.Host == "" && len(a.cfg.CAPEM) > 0 {
		// On another machine, with no address given (EC2 assigns it): the
		// address this host reaches the control plane from.
		var err error
		if a.cfg.Host, err = localAddrTowards(ctx, a.servers.Current()); err != nil {
			return err
		}
		reg.Host = a.cfg.Host
	}
	if a.cfg.Host != "" {
		// Ports are this host's to choose (another may take one before a
		// daemon binds it, as anywhere).
		var err error
		if reg.Ports, err = freePorts(a.cfg.Host, hearth.PortsNeeded); err != nil {
			return fmt.Errorf("choose ports on %s: %w", a.cfg.Host, err)
		}
	}
	var plan hearth.Plan
	err := a.retry(ctx, func() error {
		return a.call(ctx, http.MethodPost, "/agent/v1/register", reg, &plan)
	})
	if err != nil {
		return err
	}
	if plan.NodeCredential != "" {
		// The launch credential is spent; no other goroutine calls yet.
		a.cfg.Token, plan.NodeCredential = plan.NodeCredential, ""
	}
	a.log.Info("registered", "plan", plan.Version)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	plans := make(chan hearth.Plan, 1)
	plans <- plan
	pollErr := make(chan error, 1)
	go func() { pollErr <- a.pollPlans(ctx, plan.Version, plans) }()
	logs := &nodeLogs{a: a, sent: map[string]int64{}}
	go logs.run(ctx)
	go a.sampleMetrics(ctx)

	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	// Until the node has converged, look often, so readiness is reported
	// as soon as the daemons serve rather than at the next heartbeat.
	fast := time.NewTicker(250 * time.Millisecond)
	defer fast.Stop()
	converged := false
	for {
		var masterChanged <-chan struct{}
		if a.master != nil {
			masterChanged = a.master.changed
		}
		select {
		case <-masterChanged:
			a.report(ctx, false)
		case <-a.wakeCh:
			a.report(ctx, false)
		case <-a.again:
			a.mu.Lock()
			p := a.plan
			a.mu.Unlock()
			a.converge(p)
			a.report(ctx, false)
		case <-ctx.Done():
			a.stopAll()
			return ctx.Err()
		case err := <-pollErr:
			a.stopAll()
			return err
		case p := <-plans:
			if p.Stop {
				a.log.Info("plan says stop", "plan", p.Version)
				a.stopAll()
				final, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				logs.ship(final) // the daemons' last words, as EMR keeps them
				cancel()
				a.report(context.Background(), true)
				return nil
			}
			a.converge(p)
			a.report(ctx, false)
		case <-tick.C:
			a.report(ctx, false)
		case <-fast.C:
			if !converged && a.observe().Converged {
				converged = true
				a.report(ctx, false)
			}
		}
	}
}

// pollPlans long-polls the control plane for plans newer than after.
func (a *Agent) pollPlans(ctx context.Context, after int64, out chan<- hearth.Plan) error {
	for {
		var p hearth.Plan
		err := a.retry(ctx, func() error {
			return a.call(ctx, http.MethodGet, "/agent/v1/plan?after="+strconv.FormatInt(after, 10), nil, &p)
		})
		if err != nil {
			return err
		}
		a.servers.Set(p.Servers)
		if p.Version > after {
			after = p.Version
			select {
			case out <- p:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// retry calls fn until it succeeds, the control plane rejects the node, or
// ctx ends. A control plane that is down (restarting) is waited for.
func (a *Agent) retry(ctx context.Context, fn func() error) error {
	delay := 200 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, ErrRejected) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Debug("control plane call", "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func (a *Agent) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := a.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case rejected(resp):
		return ErrRejected
	case resp.StatusCode >= 300:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	case out != nil && resp.StatusCode != http.StatusNoContent:
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// newRequest is a request to the control plane's path (which may carry a
// query), with the node's credential.
func (a *Agent) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.servers.Current()+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("X-Hearth-Node", a.cfg.NodeID)
	return req, nil
}

// rejected reports whether the control plane refused the node's credential.
func rejected(resp *http.Response) bool {
	return resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
}

// report sends the node's observed state; failures are left to the next
// heartbeat.
func (a *Agent) report(ctx context.Context, stopped bool) {
	r := hearth.Report{Observed: a.observe(), Stopped: stopped, Steps: a.stepReports()}
	a.metricsMu.Lock()
	r.Metrics, a.metrics = a.metrics, nil
	a.metricsMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.call(ctx, http.MethodPost, "/agent/v1/report", r, nil); err != nil {
		a.log.Debug("report", "err", err)
	}
}

func (a *Agent) stepReports() []hearth.StepReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []hearth.StepReport
	for _, r := range a.steps {
		out = append(out, r.report())
	}
	return out
}

func (a *Agent) observe() hearth.Observed {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := hearth.Observed{AgentPID: os.Getpid(), PlanVersion: a.plan.Version, Error: a.err,
		Converged: a.plan.Version > 0 && a.boot.done && a.boot.failed == "",
		Bootstrap: a.boot.results, BootstrapFailed: a.boot.failed}
	for _, name := range daemonNames {
		d := a.daemons[name]
		if d == nil {
			continue
		}
		st := d.status()
		o.Daemons = append(o.Daemons, st)
		o.Converged = o.Converged && (st.Ready || d.auxiliary)
		if d.crashLooping() {
			o.Error = fmt.Sprintf("spark %s keeps exiting (%d restarts, last: %s); tail of %s:\n%s", name, st.Restarts, st.LastExit, st.Log, tail(st.Log, 2048))
		}
	}
	if a.plan.Jupyter != nil && a.daemons["jupyter"] == nil {
		o.Converged = false // JupyterLab still installing
	}
	if a.plan.Role == hearth.RoleMaster && a.plan.Master == nil {
		o.Converged = false // the other master nodes are not known yet
	}
	if a.master != nil {
		o.Master = a.master.last()
		// A highly available cluster's other masters stand by.
		ready := o.Master != nil && (o.Master.Status == "ALIVE" || (a.plan.ZooKeeper != nil && o.Master.Status == "STANDBY"))
		o.Converged = o.Converged && ready
	}
	return o
}

// converge makes the node's daemons match plan p.
func (a *Agent) converge(p hearth.Plan) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.plan = p
	if p.Runtime != nil && !a.javaChecked {
		// The control plane checked its own Java, not this host's: a host
		// without a fit one fails the node's bootstrap, saying what to do.
		if msg := a.checkJava(p.SparkVersion); msg != "" {
			a.boot.done, a.boot.failed = true, msg
			return
		}
		a.javaChecked = true
	}
	dist, err := a.distribution(p)
	if errors.Is(err, errRuntimePending) {
		a.err = ""
		return // converged again once the download is installed
	}
	if err != nil {
		a.err = err.Error()
		a.log.Error("spark runtime", "err", err)
		return
	}
	if err := a.writeInstanceJSON(p.Instance); err != nil {
		a.err = "write instance.json: " + err.Error()
		return
	}
	if !a.bootstrapped(p) {
		return // daemons start once bootstrap actions succeed
	}
	events := filepath.Join(a.cfg.Dir, "spark-events")
	os.MkdirAll(events, 0o755)
	p.Conf.SparkDefaults = withDefault(p.Conf.SparkDefaults, "spark.eventLog.dir", "file://"+events)
	if p.Master != nil {
		// A master the agent restarts after a crash recovers its workers,
		// applications and drivers from here instead of losing them.
		recovery := filepath.Join(a.cfg.Dir, "recovery")
		os.MkdirAll(recovery, 0o700)
		p.Conf.SparkDefaults = withDefault(p.Conf.SparkDefaults, "spark.deploy.recoveryMode", "FILESYSTEM")
		p.Conf.SparkDefaults = withDefault(p.Conf.SparkDefaults, "spark.deploy.recoveryDirectory", recovery)
	}
	conf := p.Conf
	a.driverOpts, a.filterJar = "", ""
	uiKey := ""
	if sec := p.Secrets; sec != nil {
		// The secrets go into the node's private conf files only; the plan's
		// Conf, which reports and describe-cluster show, never holds them.
		conf.SparkDefaults = maps.Clone(conf.SparkDefaults)
		maps.Copy(conf.SparkDefaults, spark.SecretDefaults(p.SparkVersion, sec.AuthSecret, sec.UIKey))
		s3aJars := p.S3AJars
		if len(s3aJars) == 0 {
			s3aJars = dist.S3AJars // a runtime downloaded with its connector
		}
		if s3 := sec.S3; s3 != nil && len(s3aJars) > 0 {
			// s3://, s3a:// and s3n:// reach the cluster's store, as on EMR.
			// A classification's own setting wins.
			for k, v := range spark.S3ADefaults(s3.Endpoint, s3.Region, s3.AccessKeyId, s3.SecretAccessKey) {
				if _, set := conf.SparkDefaults[k]; !set {
					conf.SparkDefaults[k] = v
				}
			}
			jars := strings.Join(s3aJars, ":")
			for _, k := range []string{"spark.driver.extraClassPath", "spark.executor.extraClassPath"} {
				if prev := conf.SparkDefaults[k]; prev != "" {
					conf.SparkDefaults[k] = prev + ":" + jars
				} else {
					conf.SparkDefaults[k] = jars
				}
			}
		}
		if os.MkdirAll(a.dirs.Conf, 0o700) == nil {
			if a.driverOpts, err = spark.WriteAuthJVMOptions(a.dirs, sec.AuthSecret); err != nil {
				a.err = "write Spark credentials: " + err.Error()
				return
			}
		}
		if spark.HasUIFilter(p.SparkVersion) {
			uiKey = sec.UIKey
		}
		if spark.NeedsUIFilterJar(p.SparkVersion) {
			// Spark 3 has no filter of its own: daemons get Hearth's in
			// SPARK_DAEMON_CLASSPATH, drivers in spark.driver.extraClassPath.
			if a.filterJar, err = spark.WriteUIFilterJar(filepath.Join(a.cfg.Dir, "lib")); err != nil {
				a.err = "write the Spark UI filter: " + err.Error()
				return
			}
			cp := a.filterJar
			if prev := conf.SparkDefaults["spark.driver.extraClassPath"]; prev != "" {
				cp += ":" + prev
			}
			conf.SparkDefaults["spark.driver.extraClassPath"] = cp
		}
	}
	a.uiKey.Store(uiKey)
	if p.CDSArchive != "" {
		conf.SparkDefaults = dist.WithCDS(conf.SparkDefaults, p.CDSArchive)
	}
	// Daemons get Hearth's JVM flags; a spark-env classification's own
	// come after them, so they win.
	conf.SparkEnv = maps.Clone(conf.SparkEnv)
	if conf.SparkEnv == nil {
		conf.SparkEnv = map[string]string{}
	}
	conf.SparkEnv["SPARK_DAEMON_JAVA_OPTS"] = strings.TrimSpace(spark.DaemonJavaOpts + " " + conf.SparkEnv["SPARK_DAEMON_JAVA_OPTS"])
	var zooKeeper *spark.Command
	if zk := p.ZooKeeper; zk != nil && p.Master != nil {
		if p.Secrets == nil {
			a.err = "a cluster with three master nodes needs its Spark secret for ZooKeeper"
			return
		}
		config, jaas, log4j, err := a.writeZooKeeper(p.Host, *zk, p.Secrets.AuthSecret)
		if err != nil {
			a.err = "write the ZooKeeper configuration: " + err.Error()
			return
		}
		java, ok := spark.JavaBinary(sparkClassEnv(spark.Command{}, conf.SparkEnv))
		if !ok {
			a.err = "no java to run ZooKeeper with: set JAVA_HOME or put java on PATH"
			return
		}
		cmd := dist.ZooKeeperCommand(java, config, jaas, log4j)
		zooKeeper = &cmd
		// The master is the ensemble's client: it logs in with the same
		// credentials (spark-env.sh, so a user's own options stay).
		opts := "-Djava.security.auth.login.config=" + jaas
		if prev := conf.SparkEnv["SPARK_MASTER_OPTS"]; prev != "" {
			opts += " " + prev
		}
		conf.SparkEnv = maps.Clone(conf.SparkEnv)
		if conf.SparkEnv == nil {
			conf.SparkEnv = map[string]string{}
		}
		conf.SparkEnv["SPARK_MASTER_OPTS"] = opts
	}
	digest, err := spark.WriteConfDir(a.dirs.Conf, spark.ConfFiles(conf))
	if err != nil {
		a.err = "write Spark configuration: " + err.Error()
		a.log.Error("spark conf", "err", err)
		return
	}
	if err := a.writeShellEnv(dist, p); err != nil {
		a.log.Warn("write env.sh", "err", err)
	}
	a.err = ""
	want := map[string]spark.Command{}
	if zooKeeper != nil {
		want["zookeeper"] = *zooKeeper
	}
	if m := p.Master; m != nil {
		want["master"] = dist.MasterCommand(p.Host, m.Port, m.WebUIPort, a.dirs)
		if a.master == nil {
			a.master = newMasterWatch(fmt.Sprintf("http://%s:%d/json/", p.Host, m.WebUIPort), a.authorizeUI, a.log)
			go a.master.run()
		}
	}
	if w := p.Worker; w != nil {
		want["worker"] = dist.WorkerCommand(w.MasterURL, p.Host, w.Port, w.WebUIPort, w.Cores, w.MemoryMB, a.dirs)
	}
	if jp := p.Jupyter; jp != nil {
		if python, ok := a.jupyterReady(); ok {
			notebooks := filepath.Join(a.cfg.Dir, "notebooks")
			os.MkdirAll(notebooks, 0o755)
			want["jupyter"] = jupyterCommand(python, dist, p.Host, jp.WebUIPort, jp.Token, jp.ProxyBase, jp.MasterURL, notebooks, a.dirs)
		} else if a.jupyter.err != "" {
			a.err = a.jupyter.err
		}
	}
	if cn := p.Connect; cn != nil {
		want["connect"] = dist.ConnectCommand(cn.MasterURL, p.Host, cn.Port, a.dirs)
		if cn.Token != "" && spark.HasConnectAuth(p.SparkVersion) {
			cmd := want["connect"]
			cmd.Env = append(cmd.Env, spark.EnvConnectToken+"="+cn.Token)
			want["connect"] = cmd
		}
	}
	if h := p.History; h != nil {
		want["history"] = dist.HistoryCommand(p.Host, h.WebUIPort, p.Conf.SparkDefaults["spark.eventLog.dir"], h.ProxyBase, a.dirs)
	}
	for name, cmd := range want { // a configuration change restarts the daemons
		if name == "zookeeper" {
			continue // Spark's configuration is not ZooKeeper's
		}
		cmd.Env = append(cmd.Env, "HEARTH_CONF_DIGEST="+digest)
		if a.filterJar != "" && (name == "master" || name == "worker" || name == "history") {
			cmd.Env = append(cmd.Env, "SPARK_DAEMON_CLASSPATH="+a.filterJar)
		}
		want[name] = cmd
	}
	for name, d := range a.daemons {
		if cmd, ok := want[name]; !ok || !d.same(cmd) {
			d.stop()
			delete(a.daemons, name)
		}
	}
	a.convergeSteps(p, dist)
	for _, name := range daemonNames { // master first: workers join it
		cmd, ok := want[name]
		if !ok || a.daemons[name] != nil {
			continue
		}
		d := newDaemon(name, cmd, a.cfg.Dir, a.cfg.NodeID, a.log)
		if direct, ok := dist.Direct(cmd, sparkClassEnv(cmd, conf.SparkEnv), p.CDSArchive); ok {
			// As spark-class would run it, minus the launcher JVM; with the
			// host's class-data archive when there is one.
			for k, v := range conf.SparkEnv {
				direct.Env = append(direct.Env, k+"="+v)
			}
			d.launch = direct
		}
		switch name {
		case "zookeeper":
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.ZooKeeper.Port)
		case "master":
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.Master.WebUIPort)
		case "worker":
			d.waitFor = strings.TrimPrefix(p.Worker.MasterURL, "spark://")
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.Worker.WebUIPort)
		case "history":
			// Not needed for the cluster to be ready: let the master (and,
			// on a shared host, the workers) have the CPU first.
			d.waitFor = fmt.Sprintf("%s:%d", p.Host, p.Master.Port)
			d.nice, d.auxiliary = true, true
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.History.WebUIPort)
		case "connect":
			d.waitFor = strings.TrimPrefix(p.Connect.MasterURL, "spark://")
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.Connect.Port)
		case "jupyter":
			d.readyAddr = fmt.Sprintf("%s:%d", p.Host, p.Jupyter.WebUIPort)
		}
		a.daemons[name] = d
		go d.supervise()
	}
}

// daemonNames are the daemons a node may run, in the order they start: the
// ensemble before the master that it elects, the master before the workers
// that join it.
var daemonNames = []string{"zookeeper", "master", "worker", "history", "connect", "jupyter"}

// writeShellEnv writes env.sh in the node's directory: the environment of
// its Spark, which `hearth ssh` sources so that spark-submit and pyspark
// there reach the cluster (the conf dir holds its credentials).
func (a *Agent) writeShellEnv(dist spark.Distribution, p hearth.Plan) error {
	quote := func(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }
	var b strings.Builder
	b.WriteString("# Written by the Hearth agent: the environment of this node's Spark.\n")
	fmt.Fprintf(&b, "export SPARK_HOME=%s\nexport SPARK_CONF_DIR=%s\nexport SPARK_LOCAL_IP=%s\n", quote(dist.Home), quote(a.dirs.Conf), quote(p.Host))
	if dist.PythonPath != "" {
		fmt.Fprintf(&b, "export PYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH}\n", quote(dist.PythonPath))
	}
	master := p.MasterURL
	if master == "" && p.Worker != nil {
		master = p.Worker.MasterURL
	}
	if master != "" {
		fmt.Fprintf(&b, "export MASTER=%s\n", quote(master))
	}
	b.WriteString("export PATH=\"$SPARK_HOME/bin:$PATH\"\n")
	tmp := filepath.Join(a.cfg.Dir, ".env.sh.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(a.cfg.Dir, "env.sh"))
}

// authorizeUI signs req for the node's Spark UIs, which answer only
// requests carrying a token signed with the cluster's UI key.
func (a *Agent) authorizeUI(req *http.Request) {
	key, _ := a.uiKey.Load().(string)
	if key == "" {
		return
	}
	if v, err := spark.UIAuthorization(key, time.Now()); err == nil {
		req.Header.Set("Authorization", v)
	}
}

// signedMasterUI is this master node's Spark UI address when the agent
// signs requests to it, "" otherwise. Callers hold a.mu.
func (a *Agent) signedMasterUI() string {
	key, _ := a.uiKey.Load().(string)
	if key == "" || a.plan.Master == nil {
		return ""
	}
	return fmt.Sprintf("http://%s:%d", a.plan.Host, a.plan.Master.WebUIPort)
}

func (a *Agent) distribution(p hearth.Plan) (spark.Distribution, error) {
	if p.Runtime != nil {
		return a.downloadedRuntime(*p.Runtime)
	}
	if p.SparkHome != "" {
		v, err := spark.VersionOf(p.SparkHome)
		if err == nil && v == p.SparkVersion {
			return spark.Distribution{Home: p.SparkHome, Version: v, Source: "spark-home"}, nil
		}
	}
	if a.cfg.Locator == nil {
		return spark.Distribution{}, fmt.Errorf("spark %s: no runtime at %q and no locator configured", p.SparkVersion, p.SparkHome)
	}
	return a.cfg.Locator.Locate(context.Background(), p.SparkVersion)
}

// convergeSteps starts the plan's steps not yet started and cancels those
// the plan says to; it forgets finished steps the plan no longer lists.
func (a *Agent) convergeSteps(p hearth.Plan, dist spark.Distribution) {
	inPlan := map[string]bool{}
	for _, run := range p.Steps {
		inPlan[run.Id] = true
		r := a.steps[run.Id]
		if r == nil {
			a.log.Info("starting step", "step", run.Id, "name", run.Name)
			r = a.startStep(run, dist, p.MasterURL)
			a.steps[run.Id] = r
		}
		if run.Cancel {
			r.requestCancel(run.CancelOption)
		}
	}
	for id, r := range a.steps {
		if !inPlan[id] && r.report().Done {
			delete(a.steps, id)
		}
	}
}

// stopAll stops every step and daemon and waits for them to exit.
func (a *Agent) stopAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.steps {
		r.requestCancel("TERMINATE_PROCESS")
	}
	var wg sync.WaitGroup
	for _, d := range a.daemons {
		wg.Add(1)
		go func() { defer wg.Done(); d.stop() }()
	}
	wg.Wait()
	if a.master != nil {
		a.master.close()
	}
}

// tail returns up to n bytes from the end of the file at path.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// withDefault returns m with k set to v unless the configuration set it.
// sparkClassEnv is the environment bin/spark-class would see for cmd:
// the agent's, the command's, then spark-env.sh's exports.
func sparkClassEnv(cmd spark.Command, sparkEnv map[string]string) map[string]string {
	env := map[string]string{}
	for _, kvs := range [][]string{os.Environ(), cmd.Env} {
		for _, kv := range kvs {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	maps.Copy(env, sparkEnv)
	return env
}

func withDefault(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for key, val := range m {
		out[key] = val
	}
	if _, ok := out[k]; !ok {
		out[k] = v
	}
	return out
}
