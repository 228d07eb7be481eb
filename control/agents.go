package control

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// planPollTimeout bounds one long-poll for a new plan.
const planPollTimeout = 25 * time.Second

// RegisterAgent records that node n's agent is up and returns its plan. A
// node whose provisioner chose no ports (its host is not the control
// plane's) takes the free ports its agent found there; once the master has
// its ports, the cluster's Spark URLs are known and every node's plan names
// them.
func (s *Server) RegisterAgent(ctx context.Context, n *hearth.Node, reg hearth.Registration) (hearth.Plan, error) {
	now := s.now().UTC()
	c, err := s.store.Cluster(ctx, n.ClusterId)
	if err != nil {
		return hearth.Plan{}, err
	}
	assigned := false
	credential := hearth.NewSecret("hnt_")
	n, err = s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
		n.LastHeartbeat = &now
		n.Observed.AgentPID = reg.Pid
		n.TokenHash = hashToken(credential) // the launch credential is spent
		if n.State == hearth.NodeProvisioning {
			n.SetState(hearth.NodeBootstrapping, "Agent registered; starting Spark", now)
		}
		if n.Host == "" {
			ip := net.ParseIP(reg.Host)
			if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
				return hearth.Invalid("Host", reg.Host, "the agent must report the address it reaches the control plane from")
			}
			n.Host = ip.String()
		}
		if n.Ports == (hearth.NodePorts{}) && len(reg.Ports) > 0 {
			if err := hearth.AssignPorts(c, n, reg.Ports); err != nil {
				return fmt.Errorf("%w: %v", hearth.ErrInvalid, err)
			}
			assigned = true
		}
		return nil
	})
	if err != nil {
		return hearth.Plan{}, err
	}
	if assigned && n.Role == hearth.RoleMaster {
		if err := s.setMasterURLs(ctx, c.Id, n); err != nil {
			return hearth.Plan{}, err
		}
	}
	s.log.Info("agent registered", "cluster", n.ClusterId, "node", n.Id, "host", reg.Hostname, "pid", reg.Pid)
	s.changes.notify()
	p, err := s.planFor(ctx, n)
	p.NodeCredential = credential
	return p, err
}

// setMasterURLs records the cluster's Spark URLs once its master nodes
// have their addresses and ports (m is the one that just got them), and
// gives every other node a new plan that names them. The first master node
// serves the History Server, Spark Connect and JupyterLab.
func (s *Server) setMasterURLs(ctx context.Context, clusterID string, m *hearth.Node) error {
	nodes, err := s.store.Nodes(ctx, clusterID)
	if err != nil {
		return err
	}
	masters := masterNodes(nodes)
	masterURL, zooKeeper, ok := sparkURLs(masters)
	if !ok {
		return nil // named once every master node has its ports
	}
	first := masters[0]
	if _, err := s.store.UpdateCluster(ctx, clusterID, func(c *hearth.Cluster) error {
		c.Spark.MasterURL, c.Spark.ZooKeeperURL = masterURL, zooKeeper
		if c.Spark.UIURL == "" || len(masters) == 1 {
			// A highly available cluster's follows its active master.
			c.Spark.UIURL = fmt.Sprintf("http://%s:%d/", first.Host, first.Ports.MasterWebUI)
		}
		m := first
		if m.Ports.HistoryWebUI > 0 {
			c.Spark.HistoryURL = fmt.Sprintf("http://%s:%d/", m.Host, m.Ports.HistoryWebUI)
		}
		if m.Ports.ConnectPort > 0 {
			c.Spark.ConnectURL = fmt.Sprintf("sc://%s:%d", m.Host, m.Ports.ConnectPort)
		}
		if m.Ports.JupyterPort > 0 {
			c.Spark.JupyterURL = fmt.Sprintf("http://%s:%d%s", m.Host, m.Ports.JupyterPort, JupyterPath(c.Id))
			if c.Spark.JupyterToken == "" {
				c.Spark.JupyterToken = hearth.NewSecret("")
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Id == m.Id || n.State.Ended() {
			continue
		}
		if _, err := s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
			n.PlanVersion++
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// NextPlan returns node n's plan as soon as its version exceeds after, or
// the current plan when planPollTimeout passes first.
func (s *Server) NextPlan(ctx context.Context, n *hearth.Node, after int64) (hearth.Plan, error) {
	timeout := time.After(planPollTimeout)
	for {
		wake := s.changes.wait()
		cur, err := s.store.Node(ctx, n.Id)
		if err != nil {
			return hearth.Plan{}, err
		}
		if cur.PlanVersion > after {
			return s.planFor(ctx, cur)
		}
		select {
		case <-wake:
		case <-timeout:
			return s.planFor(ctx, cur)
		case <-ctx.Done():
			return hearth.Plan{}, ctx.Err()
		}
	}
}

// Report records what node n's agent observed. A report that shows the
// node converged on its newest plan makes it RUNNING; one carrying an error
// (a crash-looping daemon, a missing runtime) makes it FAILED.
func (s *Server) Report(ctx context.Context, n *hearth.Node, r hearth.Report) error {
	now := s.now().UTC()
	changed := false
	_, err := s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error {
		n.LastHeartbeat = &now
		masterChanged := masterSummary(n.Observed.Master) != masterSummary(r.Observed.Master)
		n.Observed = r.Observed
		before := n.State
		switch {
		case n.State.Ended():
		case r.BootstrapFailed != "" && !n.Stop:
			n.SetState(hearth.NodeFailed, r.BootstrapFailed, now)
		case r.Error != "" && !n.Stop:
			n.SetState(hearth.NodeFailed, r.Error, now)
		case n.State == hearth.NodeBootstrapping && r.Converged && r.PlanVersion == n.PlanVersion:
			n.SetState(hearth.NodeRunning, "Spark daemons running", now)
		}
		changed = n.State != before || r.Stopped || masterChanged
		return nil
	})
	if err != nil {
		return err
	}
	s.recordMetrics(ctx, n, r)
	if o := r.Observed.Master; o != nil && o.Status == "ALIVE" && n.Role == hearth.RoleMaster {
		if c, err := s.store.Cluster(ctx, n.ClusterId); err == nil && c.Spark.ActiveMaster != n.Id && c.Status.State.Active() {
			if err := s.noteActiveMaster(ctx, n); err != nil {
				return err
			}
		}
	}
	if err := s.stepReports(ctx, n, r.Steps); err != nil {
		return err
	}
	if changed {
		s.changes.notify()
	}
	return nil
}

// planFor builds node n's plan from the store.
func (s *Server) planFor(ctx context.Context, n *hearth.Node) (hearth.Plan, error) {
	c, err := s.store.Cluster(ctx, n.ClusterId)
	if err != nil {
		return hearth.Plan{}, err
	}
	p := hearth.Plan{
		Version: n.PlanVersion, ClusterId: c.Id, NodeId: n.Id, Role: n.Role,
		Stop: n.Stop, SparkVersion: c.SparkVersion, Host: n.Host,
		MetricsIntervalMs: int(s.metricsInterval().Milliseconds()),
		Conf:              nodeConf(c, n),
		BootstrapActions:  c.BootstrapActions,
		LogUri:            c.LogUri,
		Instance: hearth.InstanceInfo{
			IsMaster: n.Role == hearth.RoleMaster, ClusterId: c.Id, JobFlowId: c.Id,
			InstanceGroupId: n.InstanceGroupId, InstanceRole: roleName(n.Role), InstanceId: n.Id,
		},
	}
	_, hostBound := s.prov[c.Provisioner].(hearth.HostBound)
	if !s.leading() && !n.Stop {
		if err := s.runtimeHere(c, hostBound); err != nil {
			return hearth.Plan{}, err
		}
	}
	p.Servers = s.serverURLs(ctx, hostBound)
	if hostBound {
		d := s.runtimes.dist(c.SparkVersion)
		p.SparkHome, p.S3AJars, p.CDSArchive = d.Home, d.S3AJars, s.cds.archive(d)
	} else if b, ok := s.bundles.packed(c.SparkVersion); ok {
		p.Runtime = &hearth.RuntimeBundle{Version: b.Version, SHA256: b.SHA256, Size: b.Size}
	}
	if c.Spark.AuthSecret != "" {
		p.Secrets = &hearth.NodeSecrets{AuthSecret: c.Spark.AuthSecret, UIKey: c.Spark.UIKey, S3: s.cfg.S3}
	}
	if n.Role == hearth.RoleMaster {
		nodes, err := s.store.Nodes(ctx, c.Id)
		if err != nil {
			return hearth.Plan{}, err
		}
		masters := masterNodes(nodes)
		first := len(masters) > 0 && masters[0].Id == n.Id
		if ha := c.HighlyAvailable(); !ha || c.Spark.MasterURL != "" {
			// The masters of a highly available cluster start once the
			// ensemble's members are all known.
			p.Master = &hearth.DaemonPlan{Port: n.Ports.MasterPort, WebUIPort: n.Ports.MasterWebUI}
			if ha {
				p.ZooKeeper = zooKeeperPlan(n, masters)
			}
		}
		ports := n.Ports
		if !first { // the first master node serves these
			ports.HistoryWebUI, ports.ConnectPort, ports.JupyterPort = 0, 0, 0
		}
		if ports.HistoryWebUI > 0 {
			p.History = &hearth.DaemonPlan{WebUIPort: n.Ports.HistoryWebUI, ProxyBase: HistoryPath(c.Id)}
		}
		if ports.ConnectPort > 0 {
			p.Connect = &hearth.DaemonPlan{Port: n.Ports.ConnectPort, MasterURL: c.Spark.MasterURL, Token: c.Spark.ConnectToken}
		}
		if ports.JupyterPort > 0 {
			p.Jupyter = &hearth.DaemonPlan{WebUIPort: n.Ports.JupyterPort, MasterURL: c.Spark.MasterURL,
				ProxyBase: JupyterPath(c.Id), Token: c.Spark.JupyterToken}
		}
		p.MasterURL = c.Spark.MasterURL
		if !n.Stop {
			if p.Steps, err = s.stepRuns(ctx, c.Id, n.Id, first); err != nil {
				return hearth.Plan{}, err
			}
		}
	}
	if n.RunsWorker && c.Spark.MasterURL != "" { // a worker needs its master
		g := c.Group(n.InstanceGroupId)
		if g == nil {
			return hearth.Plan{}, fmt.Errorf("node %s: instance group %s gone", n.Id, n.InstanceGroupId)
		}
		p.Worker = &hearth.DaemonPlan{
			Port: n.Ports.WorkerPort, WebUIPort: n.Ports.WorkerWebUI,
			MasterURL: c.Spark.MasterURL, Cores: g.Spark.Cores, MemoryMB: g.Spark.MemoryMB,
		}
	}
	return p, nil
}

// masterSummary is what of the master's status drives readiness.
func masterSummary(m *hearth.MasterStatus) string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s/%d", m.Status, m.AliveWorkers)
}

// GatewayPath is where the UI gateway serves a cluster's Spark UIs; Spark's
// reverse proxy makes every link and redirect start with it. (Spark refuses
// a prefix containing "proxy" or "history".)
func GatewayPath(clusterID string) string { return "/clusters/" + clusterID + "/ui" }

// nodeConf is the Spark configuration of node n: Hearth's defaults, then
// the cluster's configurations, then its instance group's.
func nodeConf(c *hearth.Cluster, n *hearth.Node) hearth.NodeConf {
	var groupConfs []hearth.Configuration
	if g := c.Group(n.InstanceGroupId); g != nil {
		groupConfs = g.Configurations
	}
	// maximizeResourceAllocation: the group's word over the cluster's.
	var probe hearth.NodeConf
	maximize := hearth.ApplyConfigurations(&probe, c.Configurations)
	if m := hearth.ApplyConfigurations(&probe, groupConfs); m != nil {
		maximize = m
	}
	conf := hearth.NodeConf{SparkDefaults: map[string]string{
		// Every UI (master, workers, applications) is reached through the
		// control plane's authenticated gateway, never directly.
		"spark.ui.reverseProxy":    "true",
		"spark.ui.reverseProxyUrl": GatewayPath(c.Id),
		// Applications log events for the History Server on the master.
		"spark.eventLog.enabled": "true",
		// Executors' metrics in Prometheus's format on every driver's UI.
		"spark.ui.prometheus.enabled": "true",
	}, Metrics: map[string]string{
		// Every daemon's and driver's metrics, with its JVM's, in
		// Prometheus's format on its UI (through the gateway); the agent
		// reads the daemons' heaps there.
		"*.sink.prometheusServlet.class":           "org.apache.spark.metrics.sink.PrometheusServlet",
		"*.sink.prometheusServlet.path":            "/metrics/prometheus",
		"master.sink.prometheusServlet.path":       "/metrics/master/prometheus",
		"applications.sink.prometheusServlet.path": "/metrics/applications/prometheus",
		"*.source.jvm.class":                       "org.apache.spark.metrics.source.JvmSource",
	}}
	for k, v := range hearth.ExecutorDefaults(c, maximize != nil && *maximize) {
		conf.SparkDefaults[k] = v
	}
	if c.Spark.ZooKeeperURL != "" {
		// The ensemble on the master nodes elects the active master and
		// keeps what it must recover (workers, applications, drivers).
		conf.SparkDefaults["spark.deploy.recoveryMode"] = "ZOOKEEPER"
		conf.SparkDefaults["spark.deploy.zookeeper.url"] = c.Spark.ZooKeeperURL
		conf.SparkDefaults["spark.deploy.zookeeper.dir"] = "/hearth/" + c.Id
	}
	if c.Spark.AuthSecret != "" {
		for k, v := range spark.SecurityDefaults(c.SparkVersion) {
			conf.SparkDefaults[k] = v
		}
		if c.Provisioner != "local" {
			// Nodes on several machines talk over a network: encrypt
			// Spark's RPC and block transfers (AES, keys from the secret).
			conf.SparkDefaults[spark.ConfCrypto] = "true"
		}
	}
	hearth.ApplyConfigurations(&conf, c.Configurations)
	hearth.ApplyConfigurations(&conf, groupConfs)
	return conf
}

// EffectiveSparkDefaults returns, per instance group, the spark-defaults its
// nodes run with (what describe-cluster shows).
func EffectiveSparkDefaults(c *hearth.Cluster) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, g := range c.InstanceGroups {
		out[g.Id] = nodeConf(c, &hearth.Node{ClusterId: c.Id, InstanceGroupId: g.Id}).SparkDefaults
	}
	return out
}

// JupyterPath is where the gateway serves a cluster's JupyterLab.
func JupyterPath(clusterID string) string { return "/clusters/" + clusterID + "/jupyter/" }

// HistoryPath is where the gateway serves a cluster's History Server.
func HistoryPath(clusterID string) string { return "/clusters/" + clusterID + "/hs" }

// roleName is instance.json's spelling of a role.
func roleName(r hearth.Role) string {
	return map[hearth.Role]string{hearth.RoleMaster: "Master", hearth.RoleCore: "Core", hearth.RoleTask: "Task"}[r]
}
