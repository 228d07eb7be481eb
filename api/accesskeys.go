package api

import (
	"net/http"

	"github.com/hearthcluster/hearth"
)

// CreateAccessKeyRequest describes a new key.
type CreateAccessKeyRequest struct {
	Description string `json:"Description,omitempty"`
}

// CreateAccessKeyResult is the only time the secret is shown.
type CreateAccessKeyResult struct {
	AccessKey struct {
		AccessKeyId     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
		Description     string `json:"Description,omitempty"`
	} `json:"AccessKey"`
}

func (s *Server) createAccessKey(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	var req CreateAccessKeyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	k, secret, err := s.cp.CreateAccessKey(r.Context(), req.Description)
	if err != nil {
		return err
	}
	var out CreateAccessKeyResult
	out.AccessKey.AccessKeyId, out.AccessKey.SecretAccessKey, out.AccessKey.Description = k.AccessKeyId, secret, k.Description
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ListAccessKeysResult lists keys without secrets.
type ListAccessKeysResult struct {
	AccessKeys []*hearth.AccessKey `json:"AccessKeys"`
}

func (s *Server) listAccessKeys(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	keys, err := s.cp.ListAccessKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ListAccessKeysResult{AccessKeys: keys})
	return nil
}

func (s *Server) deleteAccessKey(w http.ResponseWriter, r *http.Request, _ *hearth.Node) error {
	if err := s.cp.DeleteAccessKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
