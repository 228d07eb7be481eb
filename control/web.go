package control

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
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

// JupyterAuthorization returns the Authorization header value cluster
// clusterID's JupyterLab wants.
func (s *Server) JupyterAuthorization(ctx context.Context, clusterID string) (string, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return "", err
	}
	if c.Spark.JupyterToken == "" {
		return "", nil
	}
	return "token " + c.Spark.JupyterToken, nil
}

// SparkUIAuthorization returns the Authorization header value cluster
// clusterID's Spark UIs (master, and through it workers and applications;
// History Server) want: a short-lived token signed with the cluster's UI
// key, or "" for a cluster whose UIs take none.
func (s *Server) SparkUIAuthorization(ctx context.Context, clusterID string) (string, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return "", err
	}
	if c.Spark.UIKey == "" || !spark.HasUIFilter(c.SparkVersion) {
		return "", nil
	}
	return spark.UIAuthorization(c.Spark.UIKey, s.now())
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

// SparkClient is what a Spark program outside the cluster needs to reach
// it: its master, the spark-defaults that authenticate it (including the
// cluster's RPC secret), and its Spark Connect endpoint and token.
type SparkClient struct {
	ClusterId     string            `json:"ClusterId"`
	MasterURL     string            `json:"MasterURL"`
	SparkDefaults map[string]string `json:"SparkDefaults"`
	// ConnectURL is for Spark Connect clients (pyspark --remote), which
	// also need ConnectToken (SPARK_CONNECT_AUTHENTICATE_TOKEN). It names
	// localhost: PySpark insists on TLS for a token sent anywhere else.
	ConnectURL   string `json:"ConnectURL,omitempty"`
	ConnectToken string `json:"ConnectToken,omitempty"`
}

// SparkClient returns cluster clusterID's client settings. They carry the
// cluster's secrets: only callers entitled to run code on the cluster may
// have them. A cluster without a master yet is hearth.ErrConflict.
func (s *Server) SparkClient(ctx context.Context, clusterID string) (*SparkClient, error) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	if !c.Status.State.Active() || c.Spark.MasterURL == "" {
		return nil, fmt.Errorf("%w: cluster %s is %s and has no Spark master to submit to", hearth.ErrConflict, c.Id, c.Status.State)
	}
	out := &SparkClient{ClusterId: c.Id, MasterURL: c.Spark.MasterURL, SparkDefaults: map[string]string{}}
	if c.Spark.AuthSecret != "" {
		out.SparkDefaults[spark.ConfAuthenticate] = "true"
		out.SparkDefaults[spark.ConfAuthSecret] = c.Spark.AuthSecret
	}
	// A cluster that encrypts its RPC wants its clients to, too.
	for _, defaults := range EffectiveSparkDefaults(c) {
		for k, v := range defaults {
			if strings.HasPrefix(k, "spark.network.crypto.") || strings.HasPrefix(k, "spark.authenticate.") && k != spark.ConfAuthSecret {
				out.SparkDefaults[k] = v
			}
		}
	}
	if u, err := url.Parse(c.Spark.ConnectURL); err == nil && c.Spark.ConnectURL != "" {
		out.ConnectURL = "sc://localhost:" + u.Port()
		if spark.HasConnectAuth(c.SparkVersion) {
			out.ConnectToken = c.Spark.ConnectToken
		}
	}
	return out, nil
}
