package control

import (
	"context"
	"fmt"
	"net/url"

	"github.com/hearthcluster/hearth"
)

// What the web console and the UI gateway need from the control plane
// beyond the API's calls.

// NodeConf returns the Spark configuration the control plane hands node
// nodeID of cluster clusterID: what its agent renders into the node's conf
// directory (spark-defaults.conf, spark-env.sh, ...). An unknown cluster or
// node is hearth.ErrNotFound.
func (s *Server) NodeConf(ctx context.Context, clusterID, nodeID string) (hearth.NodeConf, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return hearth.NodeConf{}, err
	}
	n, err := s.store.Node(ctx, nodeID)
	if err != nil {
		return hearth.NodeConf{}, err
	}
	if n.ClusterId != c.Id {
		return hearth.NodeConf{}, fmt.Errorf("%w: node %s is not in cluster %s", hearth.ErrNotFound, nodeID, clusterID)
	}
	return nodeConf(c, n), nil
}

// MasterUI returns where the control plane reaches cluster clusterID's
// Spark master web UI, the UI gateway's upstream. It is hearth.ErrNotFound
// for an unknown cluster and hearth.ErrConflict while the cluster has no
// master UI (not started yet, or ended): the message says which.
func (s *Server) MasterUI(ctx context.Context, clusterID string) (*url.URL, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	switch {
	case !c.Status.State.Active():
		return nil, fmt.Errorf("%w: cluster %s is %s; its Spark UIs stopped with it", hearth.ErrConflict, c.Id, c.Status.State)
	case c.Spark.UIURL == "":
		return nil, fmt.Errorf("%w: cluster %s is %s; its Spark master UI is not up yet", hearth.ErrConflict, c.Id, c.Status.State)
	}
	u, err := url.Parse(c.Spark.UIURL)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: master UI URL %q: %w", c.Id, c.Spark.UIURL, err)
	}
	return u, nil
}

// HistoryUI returns where the control plane reaches cluster clusterID's
// Spark History Server (on its master node).
func (s *Server) HistoryUI(ctx context.Context, clusterID string) (*url.URL, error) {
	return s.appUI(ctx, clusterID, "History Server", func(c *hearth.Cluster) string { return c.Spark.HistoryURL })
}

// JupyterUI returns where the control plane reaches cluster clusterID's
// JupyterLab, and the token it requires.
func (s *Server) JupyterUI(ctx context.Context, clusterID string) (*url.URL, error) {
	return s.appUI(ctx, clusterID, "JupyterLab", func(c *hearth.Cluster) string { return c.Spark.JupyterURL })
}

// JupyterToken returns the token of cluster clusterID's JupyterLab.
func (s *Server) JupyterToken(ctx context.Context, clusterID string) (string, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return "", err
	}
	return c.Spark.JupyterToken, nil
}

func (s *Server) appUI(ctx context.Context, clusterID, name string, at func(*hearth.Cluster) string) (*url.URL, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	switch {
	case !c.Status.State.Active():
		return nil, fmt.Errorf("%w: cluster %s is %s; its %s stopped with it", hearth.ErrConflict, c.Id, c.Status.State, name)
	case at(c) == "":
		return nil, fmt.Errorf("%w: cluster %s has no %s (yet)", hearth.ErrConflict, c.Id, name)
	}
	return url.Parse(at(c))
}
