// Package api serves Hearth's native JSON API (/api/v1/..., used by the CLI)
// and the agent endpoints (/agent/v1/..., used by node agents). Every route
// is in one table with the credential it requires, so no route can be added
// without deciding who may call it.
package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api/emr"
	"github.com/hearthcluster/hearth/api/sigv4"
	"github.com/hearthcluster/hearth/control"
)

// Auth is the credential a route requires.
type Auth int

const (
	// AuthAdmin: the admin token (Authorization: Bearer ...), or a SigV4
	// signature made with an access key.
	AuthAdmin Auth = iota
	// AuthAdminToken: the admin token only. Managing access keys needs it,
	// so a leaked access key cannot mint more keys or delete the others.
	AuthAdminToken
	// AuthNode: a node's agent credential plus X-Hearth-Node.
	AuthNode
	// AuthSigV4: an AWS Signature V4 made with a Hearth access key, checked
	// by the handler itself (the EMR endpoint).
	AuthSigV4
	// AuthScrape: the metrics scrape token ($HEARTH_HOME/metrics.token) or
	// the admin token, as a bearer token: what a Prometheus server holds.
	AuthScrape
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string
	Auth    Auth
	handle  func(w http.ResponseWriter, r *http.Request, node *hearth.Node) error
}

// Server serves the routes.
type Server struct {
	cp         *control.Server
	adminHash  [32]byte
	scrapeHash [32]byte // zero: no scrape token
	log        *slog.Logger
	routes     []Route
	emr        *emr.Handler
}

// New returns the API for control plane cp, accepting adminToken or a
// SigV4 signature made with an access key, and serving the EMR endpoint for
// region.
func New(cp *control.Server, adminToken, region string, log *slog.Logger) *Server {
	s := &Server{cp: cp, adminHash: sha256.Sum256([]byte(adminToken)), log: log, emr: emr.New(cp, region, log)}
	s.routes = []Route{
		{"POST", "/{$}", AuthSigV4, s.serveEMR},
		{"POST", "/api/v1/access-keys", AuthAdminToken, s.createAccessKey},
		{"GET", "/api/v1/access-keys", AuthAdmin, s.listAccessKeys},
		{"DELETE", "/api/v1/access-keys/{id}", AuthAdminToken, s.deleteAccessKey},
		{"POST", "/api/v1/clusters", AuthAdmin, s.createCluster},
		{"GET", "/api/v1/clusters", AuthAdmin, s.listClusters},
		{"GET", "/api/v1/clusters/{id}", AuthAdmin, s.describeCluster},
		{"GET", "/api/v1/warm-pool", AuthAdmin, s.warmPool},
		{"GET", "/api/v1/replicas", AuthAdmin, s.replicas},
		{"GET", "/api/v1/clusters/{id}/spark-client", AuthAdmin, s.sparkClient},
		{"GET", "/api/v1/clusters/{id}/metrics", AuthAdmin, s.clusterMetrics},
		{"GET", "/metrics", AuthScrape, s.prometheus},
		{"GET", "/api/v1/s3", AuthAdmin, s.s3Access},
		{"POST", "/api/v1/clusters/terminate", AuthAdmin, s.terminateClusters},
		{"POST", "/api/v1/clusters/{id}/attributes", AuthAdmin, s.modifyClusterAttributes},
		{"POST", "/api/v1/clusters/{id}/steps", AuthAdmin, s.addSteps},
		{"GET", "/api/v1/clusters/{id}/steps", AuthAdmin, s.listSteps},
		{"GET", "/api/v1/clusters/{id}/steps/{step}", AuthAdmin, s.describeStep},
		{"POST", "/api/v1/clusters/{id}/steps/cancel", AuthAdmin, s.cancelSteps},
		{"GET", "/api/v1/clusters/{id}/steps/{step}/logs/{stream}", AuthAdmin, s.stepLog},
		{"POST", "/agent/v1/register", AuthNode, s.register},
		{"GET", "/agent/v1/plan", AuthNode, s.plan},
		{"POST", "/agent/v1/report", AuthNode, s.report},
		{"POST", "/agent/v1/logs", AuthNode, s.logs},
		{"GET", "/agent/v1/runtime", AuthNode, s.runtime},
		{"GET", "/agent/v1/binary", AuthNode, s.binary},
		{"POST", "/api/v1/hosts", AuthAdminToken, s.addHost},
		{"GET", "/api/v1/hosts", AuthAdmin, s.listHosts},
		{"DELETE", "/api/v1/hosts/{ref}", AuthAdminToken, s.removeHost},
		{"GET", "/api/v1/clusters/{id}/access", AuthAdminToken, s.nodeAccess},
	}
	return s
}

// AcceptScrapeToken makes token a credential for GET /metrics.
func (s *Server) AcceptScrapeToken(token string) { s.scrapeHash = sha256.Sum256([]byte(token)) }

// Routes returns the route table.
func (s *Server) Routes() []Route { return s.routes }

// Handler returns the HTTP handler for every route; anything else is 404.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no route %s %s", hearth.ErrNotFound, r.Method, r.URL.Path))
	})
	return mux
}

// AgentHandler serves the agent routes only: what the listener that agents
// on other machines reach (hearth server --advertise-url) exposes.
func (s *Server) AgentHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		if rt.Auth == AuthNode {
			mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: no route %s %s on the agent listener", hearth.ErrNotFound, r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) wrap(rt Route) http.Handler {
	route := rt.Method + " " + rt.Pattern
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		w := &statusWriter{ResponseWriter: hw, code: http.StatusOK}
		start := time.Now()
		defer func() { s.cp.ObserveRequest(route, w.code, time.Since(start)) }()
		var node *hearth.Node
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Limited before authentication: a signed request's body is read to
		// check its signature.
		r.Body = http.MaxBytesReader(w, r.Body, hearth.MaxRequestBytes)
		switch rt.Auth {
		case AuthAdmin:
			if err := s.Authenticate(r); err != nil {
				writeError(w, err)
				return
			}
		case AuthAdminToken:
			if sigv4.IsSigned(r) {
				writeError(w, fmt.Errorf("%w: Authorization: %s %s needs the admin token (Authorization: Bearer <admin token>), not an access key; run the command on the server's host or with HEARTH_TOKEN", hearth.ErrForbidden, r.Method, rt.Pattern))
				return
			}
			if !s.IsAdminToken(token) {
				writeError(w, errNoAdminToken)
				return
			}
		case AuthScrape:
			sum := sha256.Sum256([]byte(token))
			if !s.IsAdminToken(token) && (token == "" || s.scrapeHash == [32]byte{} || subtle.ConstantTimeCompare(sum[:], s.scrapeHash[:]) != 1) {
				writeError(w, fmt.Errorf("%w: Authorization: missing or wrong credential; scrape with the bearer token in $HEARTH_HOME/metrics.token", hearth.ErrUnauthorized))
				return
			}
		case AuthNode:
			var err error
			if node, err = s.cp.AuthenticateNode(r.Context(), r.Header.Get("X-Hearth-Node"), token); err != nil {
				writeError(w, err)
				return
			}
		}
		if err := rt.handle(w, r, node); err != nil {
			if r.Context().Err() != nil {
				return // the caller went away (an agent stopping mid long-poll)
			}
			if status, _ := errorKind(err); status >= 500 {
				s.log.Error("request", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	})
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush lets long polls and log streams flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var errNoAdminToken = fmt.Errorf("%w: Authorization: missing or wrong credential; the CLI reads it from $HEARTH_HOME/admin.token or HEARTH_TOKEN", hearth.ErrUnauthorized)

// Authenticate checks r's credential as an AuthAdmin route does: the admin
// token as a bearer token, or a SigV4 signature made with an access key
// (the body stays readable). It returns an error wrapping
// hearth.ErrUnauthorized, or hearth.ErrTooLarge for a signed body over
// hearth.MaxRequestBytes. The web console's UI gateway shares it.
func (s *Server) Authenticate(r *http.Request) error {
	if sigv4.IsSigned(r) {
		return s.verifySigned(r)
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.IsAdminToken(token) {
		return errNoAdminToken
	}
	return nil
}

// IsAdminToken reports, in constant time, whether token is the admin
// credential. The web console's login shares it.
func (s *Server) IsAdminToken(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return token != "" && subtle.ConstantTimeCompare(sum[:], s.adminHash[:]) == 1
}

// verifySigned checks a SigV4-signed native API call (an access key used
// instead of the admin token) and leaves the body readable. A body over
// MaxRequestBytes is hearth.ErrTooLarge, not a bad signature.
func (s *Server) verifySigned(r *http.Request) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, hearth.MaxRequestBytes+1))
	switch {
	case isTooLarge(err) || len(body) > hearth.MaxRequestBytes:
		return hearth.TooLarge()
	case err != nil:
		return fmt.Errorf("read body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if _, err := s.emr.Verifier().Verify(r, body); err != nil {
		return fmt.Errorf("%w: %v", hearth.ErrUnauthorized, err)
	}
	return nil
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (s *Server) serveEMR(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	if !emr.IsEMR(r) {
		return fmt.Errorf("%w: POST / is the EMR API: set X-Amz-Target: ElasticMapReduce.<Operation>", hearth.ErrNotFound)
	}
	s.emr.ServeHTTP(w, r)
	return nil
}

// ErrorBody is the JSON of every error response, in AWS's shape.
type ErrorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// Status and type for each error kind.
func errorKind(err error) (int, string) {
	switch {
	case errors.Is(err, hearth.ErrInvalid):
		return http.StatusBadRequest, "InvalidRequestException"
	case errors.Is(err, hearth.ErrUnauthorized):
		return http.StatusUnauthorized, "UnrecognizedClientException"
	case errors.Is(err, hearth.ErrForbidden):
		return http.StatusForbidden, "AccessDeniedException"
	case errors.Is(err, hearth.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException"
	case errors.Is(err, hearth.ErrNotFound):
		return http.StatusNotFound, "ResourceNotFoundException"
	case errors.Is(err, hearth.ErrConflict):
		return http.StatusConflict, "ValidationException"
	case errors.Is(err, hearth.ErrUnavailable):
		return http.StatusServiceUnavailable, "ServiceUnavailableException"
	}
	return http.StatusInternalServerError, "InternalServerError"
}

// writeError answers with err. Errors of no known kind are Hearth's own
// failures: their text can name files on the server, so the caller gets a
// fixed message and the server's log the details.
func writeError(w http.ResponseWriter, err error) {
	status, typ := errorKind(err)
	msg := err.Error()
	for _, sentinel := range []error{hearth.ErrInvalid, hearth.ErrNotFound, hearth.ErrConflict, hearth.ErrUnauthorized, hearth.ErrForbidden, hearth.ErrTooLarge, hearth.ErrUnavailable} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	if status == http.StatusInternalServerError {
		msg = "internal error; the Hearth server's log has the details"
	}
	writeJSON(w, status, ErrorBody{Type: typ, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads a JSON body strictly: one JSON value and nothing after it,
// unknown members an error naming them, a body over MaxRequestBytes
// hearth.ErrTooLarge.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if isTooLarge(err) {
			return hearth.TooLarge()
		}
		return hearth.Invalid("body", "", fmt.Sprintf("not the JSON this call takes: %v", err))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		if isTooLarge(err) {
			return hearth.TooLarge()
		}
		return hearth.Invalid("body", "", fmt.Sprintf("more data after the JSON value (after byte %d); send exactly one JSON value", end))
	}
	return nil
}

// CreateClusterResult is the reply to a create.
type CreateClusterResult struct {
	ClusterId  string `json:"ClusterId"`
	ClusterArn string `json:"ClusterArn"`
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var spec hearth.ClusterSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	c, err := s.cp.CreateCluster(r.Context(), spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, CreateClusterResult{ClusterId: c.Id, ClusterArn: c.ClusterArn})
	return nil
}

// ListClustersResult is the reply to a list.
type ListClustersResult struct {
	Clusters []*hearth.Cluster `json:"Clusters"`
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var states []hearth.ClusterState
	for _, v := range r.URL.Query()["state"] {
		st := hearth.ClusterState(strings.ToUpper(v))
		if !validState(st) {
			return hearth.Invalid("state", v, fmt.Sprintf("unknown cluster state; one of %v", hearth.AllClusterStates))
		}
		states = append(states, st)
	}
	cs, err := s.cp.ListClusters(r.Context(), states...)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*hearth.Cluster{}
	}
	writeJSON(w, http.StatusOK, ListClustersResult{Clusters: cs})
	return nil
}

// warmPool lists the warm pool's clusters (list-clusters leaves them out).
func (s *Server) warmPool(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	cs, err := s.cp.WarmPool(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*hearth.Cluster{}
	}
	writeJSON(w, http.StatusOK, ListClustersResult{Clusters: cs})
	return nil
}

// ReplicasResult answers GET /api/v1/replicas.
type ReplicasResult struct {
	Replicas []control.ReplicaView `json:"Replicas"`
}

// replicas lists the control plane's live replicas, the leader first.
func (s *Server) replicas(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	rs, err := s.cp.Replicas(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ReplicasResult{Replicas: rs})
	return nil
}

func validState(st hearth.ClusterState) bool {
	for _, s := range hearth.AllClusterStates {
		if s == st {
			return true
		}
	}
	return false
}

func (s *Server) describeCluster(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	v, err := s.cp.DescribeCluster(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// clusterMetrics answers the cluster's metric samples, those taken after
// ?since= (RFC 3339) when given.
func (s *Server) clusterMetrics(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return hearth.Invalid("since", v, "an RFC 3339 time, e.g. 2026-12-03T04:00:00Z")
		}
	}
	v, err := s.cp.ClusterMetrics(r.Context(), r.PathValue("id"), since)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// prometheus serves the control plane's metrics in Prometheus's format.
func (s *Server) prometheus(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	s.cp.MetricsHandler().ServeHTTP(w, r)
	return nil
}

func (s *Server) sparkClient(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	v, err := s.cp.SparkClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// s3Access answers how to reach the object store clusters use.
func (s *Server) s3Access(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	v, err := s.cp.S3Access()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// TerminateRequest names the clusters to terminate.
type TerminateRequest struct {
	ClusterIds []string `json:"ClusterIds"`
}

func (s *Server) terminateClusters(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req TerminateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.cp.TerminateClusters(r.Context(), req.ClusterIds); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) register(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	var reg hearth.Registration
	if err := decode(r, &reg); err != nil {
		return err
	}
	p, err := s.cp.RegisterAgent(r.Context(), node, reg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	p, err := s.cp.NextPlan(r.Context(), node, after)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	var rep hearth.Report
	if err := decode(r, &rep); err != nil {
		return err
	}
	if err := s.cp.Report(r.Context(), node, rep); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
