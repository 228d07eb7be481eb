package control

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hearthcluster/hearth"
)

// HostView is an inventory host with the nodes it carries now.
type HostView struct {
	*hearth.Host
	Nodes []string `json:"Nodes"` // "j-…/i-…" of its live nodes
}

// AddHost checks host h over SSH — its key accepted by fingerprint or
// listed in knownHosts, never trusted silently — reads its capacity, and
// adds it to the inventory. Nothing is stored when any of that fails.
func (s *Server) AddHost(ctx context.Context, h *hearth.Host, acceptFingerprint, knownHosts string) (*hearth.Host, error) {
	if s.cfg.ProbeHost == nil {
		return nil, hearth.Invalid("provisioner", "ssh", "this server has no ssh provisioner")
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	if h.KeyFile != "" && !filepath.IsAbs(h.KeyFile) {
		return nil, hearth.Invalid("key-file", h.KeyFile, "give an absolute path on the server's machine")
	}
	hosts, err := s.store.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range hosts { // before connecting: a duplicate needs no SSH
		if o.Name == h.Name || (o.Address == h.Address && o.Port == h.Port) {
			return nil, fmt.Errorf("%w: %s is already in the inventory as %s (%s); remove it first to change it", hearth.ErrConflict, h, o.Name, o.Id)
		}
	}
	h.Id, h.CreationDateTime, h.HostKey, h.HostKeyFingerprint = hearth.NewHostID(), s.now().UTC(), "", ""
	if err := s.cfg.ProbeHost(ctx, h, acceptFingerprint, knownHosts); err != nil {
		return nil, err
	}
	if err := s.store.PutHost(ctx, h); err != nil {
		return nil, err
	}
	s.log.Info("host added", "host", h.Name, "address", h.Address, "key", h.HostKeyFingerprint,
		"cpus", h.Facts.CPUs, "memory_mb", h.Facts.MemoryMB, "java", h.Facts.Java)
	return h, nil
}

// Hosts lists the inventory with each host's live nodes.
func (s *Server) Hosts(ctx context.Context) ([]HostView, error) {
	hosts, err := s.store.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	on, err := s.nodesByHost(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]HostView, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, HostView{Host: h, Nodes: on[h.Id]})
	}
	return out, nil
}

// RemoveHost takes a host (by id or name) out of the inventory; a host that
// carries live nodes is refused.
func (s *Server) RemoveHost(ctx context.Context, ref string) error {
	h, err := s.findHost(ctx, ref)
	if err != nil {
		return err
	}
	on, err := s.nodesByHost(ctx)
	if err != nil {
		return err
	}
	if nodes := on[h.Id]; len(nodes) > 0 {
		return fmt.Errorf("%w: %s carries nodes %s; terminate their clusters first", hearth.ErrConflict, h, strings.Join(nodes, ", "))
	}
	if err := s.store.DeleteHost(ctx, h.Id); err != nil {
		return err
	}
	s.log.Info("host removed", "host", h.Name)
	return nil
}

func (s *Server) findHost(ctx context.Context, ref string) (*hearth.Host, error) {
	hosts, err := s.store.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		if h.Id == ref || h.Name == ref {
			return h, nil
		}
	}
	return nil, fmt.Errorf("%w: no host %q in the inventory (hearth hosts list)", hearth.ErrNotFound, ref)
}

// nodesByHost maps host ids to the live nodes on them.
func (s *Server) nodesByHost(ctx context.Context) (map[string][]string, error) {
	clusters, err := s.store.Clusters(ctx, hearth.LiveClusterStates...)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range clusters {
		nodes, err := s.store.Nodes(ctx, c.Id)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if n.HostId != "" && !n.State.Ended() {
				out[n.HostId] = append(out[n.HostId], c.Id+"/"+n.Id)
			}
		}
	}
	return out, nil
}

// NodeAccess is how a user reaches a node's machine (hearth ssh, put, get).
type NodeAccess struct {
	ClusterId string `json:"ClusterId"`
	NodeId    string `json:"NodeId"`
	// Dir is the node's directory on its machine; its env.sh holds the
	// environment of the node's Spark.
	Dir string `json:"Dir"`
	// Host is the inventory host of an ssh node (with its pinned key and
	// the key file the server connects with); nil for a local node, whose
	// Dir is on the server's machine.
	Host *hearth.Host `json:"Host,omitempty"`
}

// NodeAccess returns how to reach node nodeID of cluster clusterID ("" =
// its master node), which must be running.
func (s *Server) NodeAccess(ctx context.Context, clusterID, nodeID string) (*NodeAccess, error) {
	nodes, err := s.store.Nodes(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	var n *hearth.Node
	for _, o := range nodes {
		if (nodeID == "" && o.Role == hearth.RoleMaster && !o.State.Ended()) || o.Id == nodeID {
			n = o
		}
	}
	switch {
	case n == nil && nodeID == "":
		return nil, fmt.Errorf("%w: cluster %s has no live master node", hearth.ErrNotFound, clusterID)
	case n == nil:
		return nil, fmt.Errorf("%w: cluster %s has no node %s", hearth.ErrNotFound, clusterID, nodeID)
	case n.State.Ended() || !n.Launched:
		return nil, fmt.Errorf("%w: node %s is %s", hearth.ErrConflict, n.Id, n.State)
	}
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	if c.Provisioner != "local" && n.HostId == "" {
		return nil, hearth.Invalid("cluster-id", clusterID, fmt.Sprintf("its nodes are %s instances, which Hearth does not reach over SSH; with a key pair (--ec2-key-name) and --ec2-ssh-cidr: ssh ec2-user@%s", c.Provisioner, n.Host))
	}
	// Every provisioner's launch handle records the node's directory.
	var handle struct{ Dir string }
	if err := json.Unmarshal(n.Launch, &handle); err != nil || handle.Dir == "" {
		return nil, fmt.Errorf("node %s: its launch handle names no directory", n.Id)
	}
	a := &NodeAccess{ClusterId: clusterID, NodeId: n.Id, Dir: handle.Dir}
	if n.HostId != "" {
		if a.Host, err = s.store.Host(ctx, n.HostId); err != nil {
			return nil, err
		}
	}
	return a, nil
}
