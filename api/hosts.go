package api

import (
	"net/http"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// AddHostRequest is the body of POST /api/v1/hosts: the host, and how its
// SSH host key is to be trusted.
type AddHostRequest struct {
	Host hearth.Host `json:"Host"`
	// AcceptHostKey is the fingerprint ("SHA256:…") the user checked on
	// the host; KnownHosts a known_hosts file on the server that lists it.
	AcceptHostKey string `json:"AcceptHostKey,omitempty"`
	KnownHosts    string `json:"KnownHosts,omitempty"`
}

// ListHostsResult is the answer of GET /api/v1/hosts.
type ListHostsResult struct {
	Hosts []control.HostView `json:"Hosts"`
}

func (s *Server) addHost(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req AddHostRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	h, err := s.cp.AddHost(r.Context(), &req.Host, req.AcceptHostKey, req.KnownHosts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Host *hearth.Host `json:"Host"`
	}{h})
	return nil
}

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	hosts, err := s.cp.Hosts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListHostsResult{Hosts: hosts})
	return nil
}

func (s *Server) removeHost(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	if err := s.cp.RemoveHost(r.Context(), r.PathValue("ref")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) runtime(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	return s.cp.ServeRuntime(w, r, node, r.URL.Query().Get("sha256"))
}

func (s *Server) nodeAccess(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	a, err := s.cp.NodeAccess(r.Context(), r.PathValue("id"), r.URL.Query().Get("node"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) binary(w http.ResponseWriter, r *http.Request, node *hearth.Node) error {
	return s.cp.ServeBinary(w, r, node)
}
