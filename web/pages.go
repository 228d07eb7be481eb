package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/spark"
)

// clusterRow is one line of the clusters page.
type clusterRow struct {
	C *hearth.Cluster
	// Running and Requested count the cluster's nodes.
	Running, Requested int
	// Cores and MemoryMB are what its workers offer Spark.
	Cores, MemoryMB int
	Cost            cost
	Age             string
	Failed          bool
}

func newClusterRow(c *hearth.Cluster) clusterRow {
	row := clusterRow{C: c, Cost: groupsCost(c.InstanceGroups), Failed: c.Status.StateChangeReason.Code.Failure()}
	for _, g := range c.InstanceGroups {
		row.Running += g.RunningInstanceCount
		row.Requested += g.RequestedInstanceCount
		if g.InstanceGroupType != hearth.RoleMaster || c.MasterRunsWorker() {
			row.Cores += g.RequestedInstanceCount * g.Spark.Cores
			row.MemoryMB += g.RequestedInstanceCount * g.Spark.MemoryMB
		}
	}
	tl := c.Status.Timeline
	switch {
	case tl.CreationDateTime == nil:
	case tl.EndDateTime != nil:
		row.Age = "ran " + formatDuration(tl.EndDateTime.Sub(*tl.CreationDateTime)) + ", ended " + ago(tl.EndDateTime)
	default:
		row.Age = formatDuration(time.Since(*tl.CreationDateTime))
	}
	return row
}

type clustersData struct {
	Rows   []clusterRow
	Active bool
}

func (s *Server) clustersPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	active := r.URL.Query().Get("active") != ""
	var states []hearth.ClusterState
	if active {
		for _, st := range hearth.AllClusterStates {
			if st.Active() {
				states = append(states, st)
			}
		}
	}
	cs, err := s.cp.ListClusters(r.Context(), states...)
	if err != nil {
		return err
	}
	d := clustersData{Active: active}
	for _, c := range cs {
		d.Rows = append(d.Rows, newClusterRow(c))
	}
	s.render(w, r, http.StatusOK, "clusters", sess, "Clusters", d)
	return nil
}

type newClusterData struct {
	Form          clusterForm
	Command       string
	SpecJSON      string
	Error         string
	InstanceTypes []string
	Releases      []string
}

func (s *Server) newClusterData(f clusterForm) newClusterData {
	d := newClusterData{Form: f, Command: f.Command(), InstanceTypes: hearth.InstanceTypeNames(), Releases: spark.KnownLabels()}
	if spec, err := f.Spec(); err == nil {
		b, _ := json.MarshalIndent(spec, "", "  ")
		d.SpecJSON = string(b)
	}
	return d
}

func (s *Server) newClusterPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	s.render(w, r, http.StatusOK, "newcluster", sess, "Create cluster", s.newClusterData(defaultClusterForm()))
	return nil
}

// newClusterCommand answers the form's live preview: the equivalent CLI
// command and the spec, for the form's values in the query.
func (s *Server) newClusterCommand(w http.ResponseWriter, r *http.Request, _ *session) error {
	f, err := parseClusterForm(r.URL.Query())
	out := map[string]string{}
	if err != nil {
		out["error"] = message(err)
	} else {
		d := s.newClusterData(f)
		out["command"], out["spec"] = d.Command, d.SpecJSON
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, sess *session) error {
	f, err := parseClusterForm(r.PostForm)
	if err == nil {
		var spec hearth.ClusterSpec
		if spec, err = f.Spec(); err == nil {
			var c *hearth.Cluster
			if c, err = s.cp.CreateCluster(r.Context(), spec); err == nil {
				s.log.Info("console: cluster created", "cluster", c.Id, "who", sess.who)
				sess.setFlash("Cluster " + c.Id + " created. The same from the command line:\n" + f.Command())
				http.Redirect(w, r, "/clusters/"+c.Id, http.StatusSeeOther)
				return nil
			}
		}
	}
	if code := status(err); code != http.StatusBadRequest {
		return err
	}
	d := s.newClusterData(f)
	d.Error = message(err)
	s.render(w, r, http.StatusBadRequest, "newcluster", sess, "Create cluster", d)
	return nil
}

// nodeRow is a node with what the console says about its health.
type nodeRow struct {
	N      *hearth.Node
	Health string
	// Bad is set when the node failed or stopped reporting.
	Bad       bool
	Heartbeat string
	// WorkerUI is the gateway path of the node's Spark worker UI, when the
	// master knows the worker.
	WorkerUI string
}

// heartbeatStale is how old a live node's last report may be before the
// console calls it silent (agents report every 2s).
const heartbeatStale = 10 * time.Second

func newNodeRow(c *hearth.Cluster, n *hearth.Node, workers []masterWorker, now time.Time) nodeRow {
	row := nodeRow{N: n}
	if n.LastHeartbeat != nil {
		row.Heartbeat = formatDuration(now.Sub(*n.LastHeartbeat)) + " ago"
	}
	switch {
	case n.State == hearth.NodeFailed:
		row.Health, row.Bad = "failed: "+n.StateMessage, true
	case n.State.Ended():
		row.Health = "terminated"
	case n.Observed.Error != "":
		row.Health, row.Bad = n.Observed.Error, true
	case n.LastHeartbeat == nil:
		row.Health = "agent starting"
	case now.Sub(*n.LastHeartbeat) > heartbeatStale:
		row.Health, row.Bad = "no report for "+formatDuration(now.Sub(*n.LastHeartbeat)), true
	default:
		row.Health = "healthy"
		for _, d := range n.Observed.Daemons {
			if !d.Running {
				row.Health, row.Bad = d.Name+" not running", true
				if d.LastExit != "" {
					row.Health += " (last exit: " + d.LastExit + ")"
				}
			}
		}
	}
	for _, w := range workers {
		if n.RunsWorker && w.Port == n.Ports.WorkerPort && (w.Host == n.Host || n.Host == "") {
			row.WorkerUI = control.GatewayPath(c.Id) + "/proxy/" + w.ID + "/"
		}
	}
	return row
}

// masterJSON is the part of the Spark master's /json/ the console shows.
type masterJSON struct {
	Status       string         `json:"status"`
	AliveWorkers int            `json:"aliveworkers"`
	Workers      []masterWorker `json:"workers"`
	ActiveApps   []masterApp    `json:"activeapps"`
	Completed    []masterApp    `json:"completedapps"`
}

type masterWorker struct {
	ID     string `json:"id"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Cores  int    `json:"cores"`
	Memory int    `json:"memory"`
	State  string `json:"state"`
}

type masterApp struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Cores    int    `json:"cores"`
	Duration int64  `json:"duration"`
}

// sparkLive is what the master says right now, with gateway links.
type sparkLive struct {
	UI     string
	Master *masterJSON
	Error  string
}

func (s *Server) sparkLive(ctx context.Context, c *hearth.Cluster) *sparkLive {
	if !c.Status.State.Active() {
		return nil
	}
	live := &sparkLive{UI: control.GatewayPath(c.Id) + "/"}
	up, err := s.cp.MasterUI(ctx, c.Id)
	if err != nil {
		live.Error = message(err)
		return live
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.JoinPath("json/").String(), nil)
	// The master's UI answers only requests the gateway's key signed.
	if auth, err := s.cp.SparkUIAuthorization(ctx, c.Id); err == nil && auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		live.Error = "the Spark master UI does not answer yet: " + err.Error()
		return live
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		live.Error = "the Spark master UI answered " + resp.Status
		return live
	}
	var m masterJSON
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		live.Error = fmt.Sprintf("the Spark master UI answered %s with no status: %v", resp.Status, err)
		return live
	}
	live.Master = &m
	return live
}

// confFile is one rendered configuration file of a node.
type confFile struct {
	Name, Text string
}

// groupConf is the configuration the nodes of one instance group run with.
type groupConf struct {
	Group *hearth.InstanceGroup
	Node  string
	Files []confFile
}

type groupRow struct {
	G    hearth.InstanceGroup
	Cost cost
}

// event is one dated line of a cluster's history.
type event struct {
	At   time.Time
	What string
	Bad  bool
}

type clusterData struct {
	Row      clusterRow
	C        *hearth.Cluster
	Groups   []groupRow
	Nodes    []nodeRow
	Spark    *sparkLive
	Confs    []groupConf
	Steps    []stepRow
	Events   []event
	StepForm stepForm
	StepCmd  string
	StepErr  string
	// Final is set when nothing on the page will change any more.
	Final bool
}

func (s *Server) clusterData(ctx context.Context, id string) (*clusterData, error) {
	v, err := s.cp.DescribeCluster(ctx, id)
	if err != nil {
		return nil, err
	}
	c := v.Cluster
	d := &clusterData{Row: newClusterRow(c), C: c, Spark: s.sparkLive(ctx, c), Final: c.Status.State.Ended()}
	var workers []masterWorker
	if d.Spark != nil && d.Spark.Master != nil {
		workers = d.Spark.Master.Workers
	}
	for _, g := range c.InstanceGroups {
		d.Groups = append(d.Groups, groupRow{G: g, Cost: groupCost(g)})
	}
	now := s.now()
	for _, n := range v.Nodes {
		d.Nodes = append(d.Nodes, newNodeRow(c, n, workers, now))
	}
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		for _, n := range v.Nodes {
			if n.InstanceGroupId != g.Id {
				continue
			}
			conf, err := s.cp.NodeConf(ctx, c.Id, n.Id)
			if err != nil {
				return nil, err
			}
			gc := groupConf{Group: g, Node: n.Id}
			files := spark.ConfFiles{SparkDefaults: conf.SparkDefaults, SparkEnv: conf.SparkEnv, Log4j2: conf.Log4j2, Metrics: conf.Metrics, HiveSite: conf.HiveSite}.Render()
			for _, name := range []string{"spark-defaults.conf", "spark-env.sh", "log4j2.properties", "metrics.properties", "hive-site.xml"} {
				if text, ok := files[name]; ok {
					gc.Files = append(gc.Files, confFile{name, text})
				}
			}
			d.Confs = append(d.Confs, gc)
			break
		}
	}
	steps, err := s.cp.ListSteps(ctx, c.Id, nil, nil)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		d.Steps = append(d.Steps, newStepRow(st, now))
	}
	d.Events = clusterEvents(c, v.Nodes, steps)
	d.StepForm = defaultStepForm()
	return d, nil
}

// clusterEvents is the cluster's history as its records tell it, newest
// first: its own timeline and reason, its nodes' and its steps'.
func clusterEvents(c *hearth.Cluster, nodes []*hearth.Node, steps []*hearth.Step) []event {
	var ev []event
	add := func(t *time.Time, what string, bad bool) {
		if t != nil {
			ev = append(ev, event{At: *t, What: what, Bad: bad})
		}
	}
	tl, reason := c.Status.Timeline, c.Status.StateChangeReason
	add(tl.CreationDateTime, "Cluster created ("+c.ReleaseLabel+")", false)
	add(tl.ReadyDateTime, "Cluster ready: the Spark master is alive and every worker registered", false)
	if tl.EndDateTime != nil {
		add(tl.EndDateTime, fmt.Sprintf("Cluster %s: %s %s", c.Status.State, reason.Code, reason.Message), reason.Code.Failure())
	}
	for _, n := range nodes {
		label := fmt.Sprintf("Node %s (%s, %s)", n.Id, n.Role, n.InstanceType)
		add(n.Timeline.CreationDateTime, label+" requested", false)
		add(n.Timeline.ReadyDateTime, label+" running", false)
		if n.Timeline.EndDateTime != nil {
			add(n.Timeline.EndDateTime, label+" "+string(n.State)+": "+n.StateMessage, n.State == hearth.NodeFailed)
		}
	}
	for _, st := range steps {
		label := fmt.Sprintf("Step %s (%s)", st.Id, st.Name)
		add(st.Status.Timeline.CreationDateTime, label+" added", false)
		add(st.Status.Timeline.StartDateTime, label+" started", false)
		if st.Status.Timeline.EndDateTime != nil {
			what := label + " " + string(st.Status.State)
			if fd := st.Status.FailureDetails; fd != nil && fd.Message != "" {
				what += ": " + fd.Message
			} else if m := st.Status.StateChangeReason.Message; m != "" {
				what += ": " + m
			}
			add(st.Status.Timeline.EndDateTime, what, st.Status.State == hearth.StepFailed || st.Status.State == hearth.StepInterrupted)
		}
	}
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].At.After(ev[j].At) })
	return ev
}

func (s *Server) clusterPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	d, err := s.clusterData(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	d.StepCmd = d.StepForm.Command(d.C.Id)
	s.render(w, r, http.StatusOK, "cluster", sess, d.C.Name+" "+d.C.Id, d)
	return nil
}

// clusterMetrics answers the cluster's metric samples as JSON, for the
// cluster page's charts.
func (s *Server) clusterMetrics(w http.ResponseWriter, r *http.Request, _ *session) error {
	v, err := s.cp.ClusterMetrics(r.Context(), r.PathValue("id"), time.Time{})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(v)
}

func (s *Server) addStep(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	f := parseStepForm(r.PostForm)
	cfg, err := f.Config()
	if err == nil {
		var ids []string
		if ids, err = s.cp.AddSteps(r.Context(), id, []hearth.StepConfig{cfg}); err == nil {
			s.log.Info("console: step added", "cluster", id, "step", ids[0], "who", sess.who)
			sess.setFlash("Step " + ids[0] + " added. The same from the command line:\n" + f.Command(id))
			http.Redirect(w, r, "/clusters/"+id+"/steps/"+ids[0], http.StatusSeeOther)
			return nil
		}
	}
	if code := status(err); code != http.StatusBadRequest && code != http.StatusConflict {
		return err
	}
	d, derr := s.clusterData(r.Context(), id)
	if derr != nil {
		return derr
	}
	d.StepForm, d.StepCmd, d.StepErr = f, f.Command(id), message(err)
	s.render(w, r, status(err), "cluster", sess, d.C.Name+" "+d.C.Id, d)
	return nil
}

type terminateData struct {
	C     *hearth.Cluster
	Error string
	// Protected says how to lift termination protection.
	Protected bool
}

func (s *Server) terminatePage(w http.ResponseWriter, r *http.Request, sess *session) error {
	v, err := s.cp.DescribeCluster(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "terminate", sess, "Terminate "+v.Cluster.Id, terminateData{C: v.Cluster, Protected: v.Cluster.TerminationProtected})
	return nil
}

func (s *Server) terminate(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PathValue("id")
	err := s.cp.TerminateClusters(r.Context(), []string{id})
	if err == nil {
		s.log.Info("console: cluster terminating", "cluster", id, "who", sess.who)
		sess.setFlash("Cluster " + id + " is terminating.")
		http.Redirect(w, r, "/clusters/"+id, http.StatusSeeOther)
		return nil
	}
	if !errors.Is(err, hearth.ErrConflict) && !errors.Is(err, hearth.ErrInvalid) {
		return err
	}
	v, derr := s.cp.DescribeCluster(r.Context(), id)
	if derr != nil {
		return derr
	}
	s.render(w, r, status(err), "terminate", sess, "Terminate "+id, terminateData{C: v.Cluster, Error: message(err), Protected: v.Cluster.TerminationProtected})
	return nil
}

// stepRow is a step with its duration.
type stepRow struct {
	S        *hearth.Step
	Duration string
	Failed   bool
	// Cancellable is set while the step is PENDING or RUNNING.
	Cancellable bool
	// Reason is why the step is in its state, when it says anything.
	Reason string
}

func newStepRow(st *hearth.Step, now time.Time) stepRow {
	row := stepRow{S: st, Cancellable: st.Status.State == hearth.StepPending || st.Status.State == hearth.StepRunning}
	tl := st.Status.Timeline
	if tl.StartDateTime != nil {
		end := now
		if tl.EndDateTime != nil {
			end = *tl.EndDateTime
		}
		row.Duration = formatDuration(end.Sub(*tl.StartDateTime))
	}
	row.Failed = st.Status.State == hearth.StepFailed || st.Status.State == hearth.StepInterrupted
	row.Reason = st.Status.StateChangeReason.Message
	if fd := st.Status.FailureDetails; fd != nil {
		row.Reason = fd.Reason
		if fd.Message != "" {
			row.Reason = fd.Message
		}
	}
	return row
}

type stepData struct {
	C       *hearth.Cluster
	Row     stepRow
	Command []string
	Streams []string
	Final   bool
}

func (s *Server) stepPage(w http.ResponseWriter, r *http.Request, sess *session) error {
	v, err := s.cp.DescribeCluster(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	st, err := s.cp.DescribeStep(r.Context(), v.Cluster.Id, r.PathValue("step"))
	if err != nil {
		return err
	}
	cmd := slices.Clone(st.Config.Args)
	if !hearth.IsCommandRunner(st.Config.Jar) {
		cmd = append([]string{st.Config.Jar}, cmd...)
	}
	d := stepData{C: v.Cluster, Row: newStepRow(st, s.now()), Command: cmd, Streams: hearth.LogStreams, Final: st.Status.State.Ended()}
	s.render(w, r, http.StatusOK, "step", sess, st.Name+" "+st.Id, d)
	return nil
}

func (s *Server) cancelStep(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, step := r.PathValue("id"), r.PathValue("step")
	infos, err := s.cp.CancelSteps(r.Context(), id, []string{step}, r.PostFormValue("option"))
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.Status != "SUBMITTED" {
			return fmt.Errorf("%w: step %s cannot be cancelled: %s", hearth.ErrConflict, step, info.Reason)
		}
	}
	s.log.Info("console: step cancel requested", "cluster", id, "step", step, "who", sess.who)
	sess.setFlash("Cancel of step " + step + " requested.")
	http.Redirect(w, r, "/clusters/"+id+"/steps/"+step, http.StatusSeeOther)
	return nil
}

// logRead is the console's log-follow answer: text from the offset, the
// offset to ask for next, and whether the stream is complete.
type logRead struct {
	Data  string `json:"data"`
	Next  int64  `json:"next"`
	Ended bool   `json:"ended"`
	State string `json:"state"`
}

// stepLog is the console's follow endpoint: it waits (up to 20s) for bytes
// past ?offset while the step runs.
func (s *Server) stepLog(w http.ResponseWriter, r *http.Request, _ *session) error {
	offset, err := hearth.ParseLogOffset(r.URL.Query().Get("offset"))
	if err != nil {
		return err
	}
	id, step := r.PathValue("id"), r.PathValue("step")
	read, err := s.cp.ReadStepLog(r.Context(), id, step, r.PathValue("stream"), offset, r.URL.Query().Get("wait") != "")
	if err != nil {
		return err
	}
	st, err := s.cp.DescribeStep(r.Context(), id, step)
	if err != nil {
		return err
	}
	data := read.Data
	if n := wholeRunes(data); n > 0 {
		data = data[:n] // the rest of a split character comes with the next read
	}
	writeJSON(w, http.StatusOK, logRead{Data: string(data), Next: offset + int64(len(data)), Ended: read.Ended, State: string(st.Status.State)})
	return nil
}

// wholeRunes is the length of b without a UTF-8 sequence cut off at its
// end.
func wholeRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}
