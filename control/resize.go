package control

import (
	"context"
	"fmt"

	"github.com/hearthcluster/hearth"
)

// AddInstanceGroups adds TASK groups (or a CORE group to a cluster without
// one) to a running cluster; the reconcile loop launches their nodes.
func (s *Server) AddInstanceGroups(ctx context.Context, clusterID string, cfgs []hearth.InstanceGroupConfig) ([]string, error) {
	if len(cfgs) == 0 {
		return nil, hearth.Invalid("InstanceGroups", "", "give at least one instance group")
	}
	var ids []string
	_, err := s.ModifyCluster(ctx, clusterID, func(c *hearth.Cluster) error {
		if !c.Status.State.Active() {
			return fmt.Errorf("%w: cluster %s is %s", hearth.ErrConflict, c.Id, c.Status.State)
		}
		// Validate the new groups as part of the whole cluster's shape.
		all := []hearth.InstanceGroupConfig{}
		for _, g := range c.InstanceGroups {
			all = append(all, hearth.InstanceGroupConfig{InstanceGroupType: g.InstanceGroupType, InstanceType: g.InstanceType, InstanceCount: g.RequestedInstanceCount, Market: g.Market})
		}
		for i, cfg := range cfgs {
			if hearth.Role(cfg.InstanceGroupType) == hearth.RoleMaster {
				return hearth.Invalid(fmt.Sprintf("InstanceGroups[%d].InstanceRole", i), "MASTER", "a cluster has exactly one MASTER group; add TASK (or CORE) groups")
			}
		}
		probe, _, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: append(all, cfgs...)}, c.SparkVersion, s.now())
		if err != nil {
			return err
		}
		added := probe.InstanceGroups[len(c.InstanceGroups):]
		for _, g := range added {
			g.State = hearth.GroupRunning
			c.InstanceGroups = append(c.InstanceGroups, g)
			ids = append(ids, g.Id)
		}
		return s.checkHost(c)
	})
	if err == nil {
		s.log.Info("instance groups added", "cluster", clusterID, "groups", ids)
	}
	return ids, err
}

// ResizeInstanceGroup sets the instance count of a CORE or TASK group: the
// reconcile loop launches the missing nodes or stops the newest extra ones.
func (s *Server) ResizeInstanceGroup(ctx context.Context, clusterID, groupID string, count int) error {
	_, err := s.ModifyCluster(ctx, clusterID, func(c *hearth.Cluster) error {
		if c.Status.State != hearth.ClusterWaiting && c.Status.State != hearth.ClusterRunning {
			return fmt.Errorf("%w: cluster %s is %s; resize a RUNNING or WAITING cluster", hearth.ErrConflict, c.Id, c.Status.State)
		}
		g := c.Group(groupID)
		switch {
		case g == nil:
			return fmt.Errorf("%w: instance group %s is not in cluster %s", hearth.ErrNotFound, groupID, c.Id)
		case g.InstanceGroupType == hearth.RoleMaster:
			return hearth.Invalid("InstanceGroupId", groupID, "the MASTER group cannot be resized")
		case count < 0 || count > 256:
			return hearth.Invalid("InstanceCount", fmt.Sprint(count), "must be between 0 and 256")
		}
		g.RequestedInstanceCount = count
		return s.checkHost(c)
	})
	if err == nil {
		s.log.Info("instance group resized", "cluster", clusterID, "group", groupID, "count", count)
	}
	return err
}

// checkHost refuses a shape the host of a local cluster cannot hold.
func (s *Server) checkHost(c *hearth.Cluster) error {
	hb, ok := s.prov[c.Provisioner].(hearth.HostBound)
	if !ok {
		return nil
	}
	h, err := hb.Host()
	if err != nil {
		return err
	}
	return hearth.CheckHostFit(c, h)
}

// shrinkGroups stops the newest live nodes of groups that have more than
// they ask for.
func (s *Server) shrinkGroups(ctx context.Context, c *hearth.Cluster, nodes []*hearth.Node, prov hearth.Provisioner) error {
	live := map[string][]*hearth.Node{}
	for _, n := range nodes {
		if !n.State.Ended() {
			live[n.InstanceGroupId] = append(live[n.InstanceGroupId], n)
		}
	}
	for _, g := range c.InstanceGroups {
		extra := live[g.Id]
		if len(extra) <= g.RequestedInstanceCount || g.InstanceGroupType == hearth.RoleMaster {
			continue
		}
		for _, n := range extra[g.RequestedInstanceCount:] { // nodes are oldest first
			if _, err := s.store.UpdateNode(ctx, n.Id, func(n *hearth.Node) error { n.Stop = true; n.PlanVersion++; return nil }); err != nil {
				return err
			}
			s.changes.notify()
			if n.Launched {
				if err := prov.Terminate(ctx, n); err != nil {
					return err
				}
			}
			if _, err := s.setNode(ctx, n.Id, hearth.NodeTerminated, "Instance group resized"); err != nil {
				return err
			}
			s.log.Info("node removed by resize", "cluster", c.Id, "group", g.Id, "node", n.Id)
		}
	}
	return nil
}
