// Package client is the Go client of Hearth's native API, used by the CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/failover"
)

// DefaultEndpoint is where `hearth server` listens unless told otherwise.
const DefaultEndpoint = "http://127.0.0.1:8440"

// Client calls a Hearth server, or the replicas of one.
type Client struct {
	// Endpoint is the server's URL, or its replicas' URLs comma-separated:
	// a call goes to the first that can be reached.
	Endpoint string
	Token    string
	HTTP     *http.Client
}

// New returns a client for endpoint (DefaultEndpoint when empty).
func New(endpoint, token string) *Client {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	endpoint = strings.Join(failover.Split(endpoint), ",")
	return &Client{Endpoint: endpoint, Token: token,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &failover.Transport{Endpoints: failover.New(endpoint)}}}
}

// base is the URL requests are made for; the transport sends them to
// whichever endpoint answers.
func (c *Client) base() string {
	if urls := failover.Split(c.Endpoint); len(urls) > 0 {
		return urls[0]
	}
	return ""
}

// ReadToken returns the admin token kept in home (see `hearth server`).
func ReadToken(home string) (string, error) {
	b, err := os.ReadFile(filepath.Join(home, "admin.token"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Do sends a request and decodes the reply into out. Errors wrap hearth's
// sentinel errors by HTTP status, with the server's message.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return fmt.Errorf("%w: endpoint %q: %v", hearth.ErrInvalid, c.Endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) && ctx.Err() == nil {
			return fmt.Errorf("%w: cannot reach the Hearth server at %s (%v); start it with `hearth server`, or point --endpoint / HEARTH_ENDPOINT at a running one", hearth.ErrUnavailable, c.Endpoint, uerr.Err)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e api.ErrorBody
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, &e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
		}
		kind := hearth.ErrInvalid
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			kind = hearth.ErrUnauthorized
		case http.StatusNotFound:
			kind = hearth.ErrNotFound
		case http.StatusConflict:
			kind = hearth.ErrConflict
		case http.StatusServiceUnavailable:
			kind = hearth.ErrUnavailable
		default:
			if resp.StatusCode >= 500 {
				return fmt.Errorf("server error (%s): %s", resp.Status, e.Message)
			}
		}
		return &Error{Kind: kind, Type: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Error is an error the server answered with.
type Error struct {
	Kind    error // one of hearth's sentinels
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// CreateCluster creates a cluster and returns its id.
func (c *Client) CreateCluster(ctx context.Context, spec hearth.ClusterSpec) (api.CreateClusterResult, error) {
	var out api.CreateClusterResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/clusters", spec, &out)
	return out, err
}

// ListClusters lists clusters in the given states (all when none).
func (c *Client) ListClusters(ctx context.Context, states ...hearth.ClusterState) ([]*hearth.Cluster, error) {
	q := url.Values{}
	for _, s := range states {
		q.Add("state", string(s))
	}
	path := "/api/v1/clusters"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.ListClustersResult
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return out.Clusters, err
}

// WarmPool lists the server's warm pool clusters.
func (c *Client) WarmPool(ctx context.Context) ([]*hearth.Cluster, error) {
	var out api.ListClustersResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/warm-pool", nil, &out)
	return out.Clusters, err
}

// Replicas lists the control plane's live replicas, the leader first.
func (c *Client) Replicas(ctx context.Context) ([]control.ReplicaView, error) {
	var out api.ReplicasResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/replicas", nil, &out)
	return out.Replicas, err
}

// DescribeCluster returns a cluster and its nodes.
func (c *Client) DescribeCluster(ctx context.Context, id string) (*control.ClusterView, error) {
	var out control.ClusterView
	if err := c.Do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClusterMetrics returns cluster id's metric samples taken after since
// (every one kept, for the zero time).
func (c *Client) ClusterMetrics(ctx context.Context, id string, since time.Time) (*control.MetricsView, error) {
	path := "/api/v1/clusters/" + url.PathEscape(id) + "/metrics"
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.Format(time.RFC3339Nano))
	}
	var out control.MetricsView
	if err := c.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SparkClient returns what a Spark program outside cluster id needs to
// reach it, secrets included.
func (c *Client) SparkClient(ctx context.Context, id string) (*control.SparkClient, error) {
	var out control.SparkClient
	if err := c.Do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(id)+"/spark-client", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// S3Access returns the endpoint and key of the object store clusters use.
func (c *Client) S3Access(ctx context.Context) (*hearth.S3Access, error) {
	var out hearth.S3Access
	if err := c.Do(ctx, http.MethodGet, "/api/v1/s3", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TerminateClusters asks the clusters to terminate.
func (c *Client) TerminateClusters(ctx context.Context, ids ...string) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/clusters/terminate", api.TerminateRequest{ClusterIds: ids}, nil)
}

// WaitCluster polls until the cluster is in one of states, calling progress
// (if set) on each poll. A cluster that ends in a state not asked for is an
// error naming its state and reason.
func (c *Client) WaitCluster(ctx context.Context, id string, progress func(*hearth.Cluster), states ...hearth.ClusterState) (*hearth.Cluster, error) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		v, err := c.DescribeCluster(ctx, id)
		if err != nil {
			return nil, err
		}
		cl := v.Cluster
		if progress != nil {
			progress(cl)
		}
		for _, s := range states {
			if cl.Status.State == s {
				return cl, nil
			}
		}
		if cl.Status.State.Ended() {
			r := cl.Status.StateChangeReason
			return cl, fmt.Errorf("cluster %s is %s (%s): %s", id, cl.Status.State, r.Code, r.Message)
		}
		select {
		case <-ctx.Done():
			return cl, ctx.Err()
		case <-t.C:
		}
	}
}

// AddSteps queues steps on a cluster and returns their ids.
func (c *Client) AddSteps(ctx context.Context, clusterID string, steps []hearth.StepConfig) ([]string, error) {
	var out api.AddStepsResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/steps", api.AddStepsRequest{Steps: steps}, &out)
	return out.StepIds, err
}

// ListSteps lists a cluster's steps, newest first.
func (c *Client) ListSteps(ctx context.Context, clusterID string, states []hearth.StepState, ids []string) ([]*hearth.Step, error) {
	q := url.Values{}
	for _, s := range states {
		q.Add("state", string(s))
	}
	for _, id := range ids {
		q.Add("id", id)
	}
	var out api.ListStepsResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/steps?"+q.Encode(), nil, &out)
	return out.Steps, err
}

// DescribeStep returns one step.
func (c *Client) DescribeStep(ctx context.Context, clusterID, stepID string) (*hearth.Step, error) {
	var out api.DescribeStepResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/steps/"+url.PathEscape(stepID), nil, &out)
	return out.Step, err
}

// CancelSteps cancels steps.
func (c *Client) CancelSteps(ctx context.Context, clusterID string, ids []string, option string) (*api.CancelStepsResult, error) {
	var out api.CancelStepsResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/steps/cancel", api.CancelStepsRequest{StepIds: ids, StepCancellationOption: option}, &out)
	return &out, err
}

// ModifyCluster changes a cluster's attributes.
func (c *Client) ModifyCluster(ctx context.Context, clusterID string, attrs api.ClusterAttributes) error {
	return c.Do(ctx, http.MethodPost, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/attributes", attrs, nil)
}

// StepLog reads a step's log stream from offset; with wait it waits for
// new bytes while the step runs.
func (c *Client) StepLog(ctx context.Context, clusterID, stepID, stream string, offset int64, wait bool) (*control.LogRead, error) {
	path := fmt.Sprintf("/api/v1/clusters/%s/steps/%s/logs/%s?offset=%d", url.PathEscape(clusterID), url.PathEscape(stepID), url.PathEscape(stream), offset)
	if wait {
		path += "&wait=1"
	}
	var out control.LogRead
	err := c.Do(ctx, http.MethodGet, path, nil, &out)
	return &out, err
}

// FollowStepLog writes a step's log stream to w as it grows, until the
// step has ended and all of it is written.
func (c *Client) FollowStepLog(ctx context.Context, clusterID, stepID, stream string, w io.Writer) error {
	var offset int64
	for {
		r, err := c.StepLog(ctx, clusterID, stepID, stream, offset, true)
		if err != nil {
			return err
		}
		if _, err := w.Write(r.Data); err != nil {
			return err
		}
		offset = r.Next
		if r.Ended {
			return nil
		}
	}
}

// CreateAccessKey makes an access key; the reply holds the secret, shown
// only this once.
func (c *Client) CreateAccessKey(ctx context.Context, description string) (*api.CreateAccessKeyResult, error) {
	var out api.CreateAccessKeyResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/access-keys", api.CreateAccessKeyRequest{Description: description}, &out)
	return &out, err
}

// ListAccessKeys lists access keys without secrets.
func (c *Client) ListAccessKeys(ctx context.Context) ([]*hearth.AccessKey, error) {
	var out api.ListAccessKeysResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/access-keys", nil, &out)
	return out.AccessKeys, err
}

// DeleteAccessKey deletes an access key.
func (c *Client) DeleteAccessKey(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/access-keys/"+url.PathEscape(id), nil, nil)
}

// AddHost adds a host to the ssh provisioner's inventory.
func (c *Client) AddHost(ctx context.Context, req api.AddHostRequest) (*hearth.Host, error) {
	var out struct{ Host *hearth.Host }
	err := c.Do(ctx, http.MethodPost, "/api/v1/hosts", req, &out)
	return out.Host, err
}

// ListHosts lists the inventory.
func (c *Client) ListHosts(ctx context.Context) ([]control.HostView, error) {
	var out api.ListHostsResult
	err := c.Do(ctx, http.MethodGet, "/api/v1/hosts", nil, &out)
	return out.Hosts, err
}

// RemoveHost removes a host (by id or name) from the inventory.
func (c *Client) RemoveHost(ctx context.Context, ref string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/hosts/"+url.PathEscape(ref), nil, nil)
}

// NodeAccess says how to reach a node's machine (node "" = the master).
func (c *Client) NodeAccess(ctx context.Context, clusterID, nodeID string) (*control.NodeAccess, error) {
	var out control.NodeAccess
	err := c.Do(ctx, http.MethodGet, "/api/v1/clusters/"+url.PathEscape(clusterID)+"/access?node="+url.QueryEscape(nodeID), nil, &out)
	return &out, err
}
