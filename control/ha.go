package control

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearthcluster/hearth"
)

// A cluster has one master node, or three (hearth.HAMasters). The three of
// a highly available cluster each run a ZooKeeper server and a Spark master
// in ZOOKEEPER recovery mode: the ensemble elects the active master, the
// others stand by, and every worker, driver and step is given all three
// (spark://m1:p1,m2:p2,m3:p3). The first master node also runs the History
// Server, Spark Connect and JupyterLab. A dead master node is not replaced
// (the ensemble's membership is fixed when it forms); the cluster runs on
// while two of the three are alive, which ZooKeeper's quorum needs.

// masterNodes returns the master nodes among nodes, in creation order: the
// order that numbers their ZooKeeper servers.
func masterNodes(nodes []*hearth.Node) []*hearth.Node {
	var out []*hearth.Node
	for _, n := range nodes {
		if n.Role == hearth.RoleMaster {
			out = append(out, n)
		}
	}
	return out
}

// sparkURLs computes the cluster's Spark master URL and, for a highly
// available cluster, its ZooKeeper connect string from its master nodes.
// ok is false while a master has no address or ports yet.
func sparkURLs(masters []*hearth.Node) (masterURL, zooKeeper string, ok bool) {
	var spark, zk []string
	for _, m := range masters {
		if m.Host == "" || m.Ports.MasterPort == 0 {
			return "", "", false
		}
		spark = append(spark, fmt.Sprintf("%s:%d", m.Host, m.Ports.MasterPort))
		if m.Ports.ZooKeeperPort > 0 {
			zk = append(zk, fmt.Sprintf("%s:%d", m.Host, m.Ports.ZooKeeperPort))
		}
	}
	if len(spark) == 0 {
		return "", "", false
	}
	if len(masters) > 1 && len(zk) != len(masters) {
		return "", "", false
	}
	return "spark://" + strings.Join(spark, ","), strings.Join(zk, ","), true
}

// zooKeeperPlan is master node n's part of the ensemble, nil when n is not
// one of masters (or the cluster has one master).
func zooKeeperPlan(n *hearth.Node, masters []*hearth.Node) *hearth.ZooKeeperPlan {
	if len(masters) < 2 {
		return nil
	}
	var p hearth.ZooKeeperPlan
	for i, m := range masters {
		p.Servers = append(p.Servers, hearth.ZooKeeperServer{Id: i + 1, Host: m.Host, PeerPort: m.Ports.ZooKeeperPeerPort, ElectionPort: m.Ports.ZooKeeperElectionPort})
		if m.Id == n.Id {
			p.Id, p.Port = i+1, m.Ports.ZooKeeperPort
		}
	}
	if p.Id == 0 {
		return nil
	}
	return &p
}

// stepRunner is the master node that runs the steps started now: the first
// live one.
func stepRunner(nodes []*hearth.Node) *hearth.Node {
	for _, m := range masterNodes(nodes) {
		if m.State == hearth.NodeRunning && !m.Stop {
			return m
		}
	}
	return nil
}

// activeMaster is the master node whose Spark master reports ALIVE, or
// else the first live master node (nil if none).
func activeMaster(nodes []*hearth.Node) *hearth.Node {
	var first *hearth.Node
	for _, m := range masterNodes(nodes) {
		if m.State.Ended() {
			continue
		}
		if o := m.Observed.Master; o != nil && o.Status == "ALIVE" {
			return m
		}
		if first == nil {
			first = m
		}
	}
	return first
}

// noteActiveMaster records that master node m's Spark master is the
// cluster's active one: describe-cluster names it and the UI gateway
// follows it.
func (s *Server) noteActiveMaster(ctx context.Context, m *hearth.Node) error {
	changed := false
	_, err := s.store.UpdateCluster(ctx, m.ClusterId, func(c *hearth.Cluster) error {
		ui := fmt.Sprintf("http://%s:%d/", m.Host, m.Ports.MasterWebUI)
		if c.Spark.ActiveMaster == m.Id && c.Spark.UIURL == ui {
			return nil
		}
		if c.Spark.ActiveMaster != "" && c.Spark.ActiveMaster != m.Id {
			s.log.Info("spark master failed over", "cluster", c.Id, "from", c.Spark.ActiveMaster, "to", m.Id)
		}
		c.Spark.ActiveMaster, c.Spark.UIURL = m.Id, ui
		if c.Status.State == hearth.ClusterWaiting || c.Status.State == hearth.ClusterRunning {
			c.MasterPublicDnsName = m.Host
		}
		changed = true
		return nil
	})
	if changed {
		s.changes.notify()
	}
	return err
}

// lostMaster handles master node n of a highly available cluster failing:
// the steps it ran fail (their drivers ran there) and the cluster goes on
// with the others. It reports whether the cluster must fail instead: while
// it starts, or when fewer than two master nodes are left.
func (s *Server) lostMaster(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node, n *hearth.Node) (fatal string, err error) {
	live := 0
	for _, m := range masterNodes(nodes) {
		if !m.State.Ended() {
			live++
		}
	}
	if st := c.Status.State; st != hearth.ClusterWaiting && st != hearth.ClusterRunning {
		return fmt.Sprintf("Node %s (MASTER) failed: %s", n.Id, firstLine(n.StateMessage)), nil
	}
	if live < 2 {
		return fmt.Sprintf("Node %s (MASTER) failed: %s; %d of %d master nodes are left, and ZooKeeper needs 2 to elect a Spark master", n.Id, firstLine(n.StateMessage), live, hearth.HAMasters), nil
	}
	steps, err := s.store.Steps(ctx, c.Id, hearth.StepRunning, hearth.StepCancelPending)
	if err != nil {
		return "", err
	}
	for _, st := range steps {
		if st.RunsOn != n.Id {
			continue
		}
		failed := false
		st, err := s.store.UpdateStep(ctx, c.Id, st.Id, func(st *hearth.Step) error {
			if st.Status.State.Ended() || st.RunsOn != n.Id {
				return nil
			}
			st.SetState(hearth.StepFailed, "", s.now())
			st.Status.FailureDetails = &hearth.FailureDetails{Reason: "Master node failed",
				Message: fmt.Sprintf("The step ran on master node %s, which failed: %s", n.Id, firstLine(n.StateMessage))}
			failed = true
			return nil
		})
		if err != nil {
			return "", err
		}
		if failed {
			s.log.Warn("step failed with its master node", "cluster", c.Id, "step", st.Id, "node", n.Id)
			s.copyStepLogs(ctx, c.Id, st.Id)
			if err := s.onStepFailure(ctx, c.Id, st); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}
