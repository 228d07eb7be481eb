// Package emr serves Amazon EMR's API (AWS JSON 1.1: POST / with
// X-Amz-Target: ElasticMapReduce.<Operation>) on Hearth's control plane, so
// the aws CLI, boto3 and the AWS SDKs work against Hearth with
// --endpoint-url. Requests must be signed (SigV4) with a Hearth access key.
package emr

import (
	"bytes"
	"context"
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
	"github.com/hearthcluster/hearth/api/sigv4"
	"github.com/hearthcluster/hearth/control"
)

const targetPrefix = "ElasticMapReduce."

// Handler serves the EMR API.
type Handler struct {
	cp       *control.Server
	verifier *sigv4.Verifier
	log      *slog.Logger
	ops      map[string]func(ctx context.Context, body []byte) (any, error)
}

// New returns the EMR endpoint for control plane cp, for region.
func New(cp *control.Server, region string, log *slog.Logger) *Handler {
	h := &Handler{cp: cp, log: log, verifier: &sigv4.Verifier{
		Secret: cp.SecretFor, Region: region, Service: "elasticmapreduce", MaxSkew: 15 * time.Minute,
	}}
	h.ops = map[string]func(context.Context, []byte) (any, error){
		"RunJobFlow":                     h.runJobFlow,
		"DescribeCluster":                h.describeCluster,
		"ListClusters":                   h.listClusters,
		"TerminateJobFlows":              h.terminateJobFlows,
		"AddJobFlowSteps":                h.addJobFlowSteps,
		"ListSteps":                      h.listSteps,
		"DescribeStep":                   h.describeStep,
		"CancelSteps":                    h.cancelSteps,
		"ListInstanceGroups":             h.listInstanceGroups,
		"ListInstances":                  h.listInstances,
		"ListBootstrapActions":           h.listBootstrapActions,
		"SetTerminationProtection":       h.setTerminationProtection,
		"SetKeepJobFlowAliveWhenNoSteps": h.setKeepAlive,
		"ModifyCluster":                  h.modifyCluster,
		"PutAutoTerminationPolicy":       h.putAutoTerminationPolicy,
		"GetAutoTerminationPolicy":       h.getAutoTerminationPolicy,
		"RemoveAutoTerminationPolicy":    h.removeAutoTerminationPolicy,
		"AddInstanceGroups":              h.addInstanceGroups,
		"ModifyInstanceGroups":           h.modifyInstanceGroups,
		"AddTags":                        h.addTags,
		"RemoveTags":                     h.removeTags,
	}
	return h
}

// Operations lists the operations served.
func (h *Handler) Operations() []string {
	var out []string
	for op := range h.ops {
		out = append(out, op)
	}
	return out
}

// IsEMR reports whether r is an EMR API call.
func IsEMR(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
}

// Verifier is the SigV4 verifier, shared with the native API.
func (h *Handler) Verifier() *sigv4.Verifier { return h.verifier }

// apiError is an error in AWS JSON 1.1's shape.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The size is checked before the signature: a body cut at the limit
	// would fail as a bad signature and hide the real problem.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, hearth.MaxRequestBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			writeError(w, toAPIError(hearth.TooLarge()))
			return
		}
		writeError(w, &apiError{400, "SerializationException", "cannot read body"})
		return
	}
	if _, err := h.verifier.Verify(r, body, "x-amz-target"); err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			writeError(w, &apiError{se.Status, se.Type, se.Message})
			return
		}
		h.log.Error("emr: verify signature", "err", err)
		writeError(w, internalError())
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	fn, ok := h.ops[op]
	if !ok {
		writeError(w, &apiError{400, "UnknownOperationException", fmt.Sprintf("Hearth does not support the EMR operation %s; supported: RunJobFlow, DescribeCluster, ListClusters, TerminateJobFlows, AddJobFlowSteps, ListSteps, DescribeStep, CancelSteps, ListInstanceGroups, ListInstances, ListBootstrapActions, SetTerminationProtection, SetKeepJobFlowAliveWhenNoSteps, ModifyCluster, Put/Get/RemoveAutoTerminationPolicy, AddInstanceGroups, ModifyInstanceGroups, AddTags, RemoveTags", op)})
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	out, err := fn(r.Context(), body)
	if err != nil {
		e := toAPIError(err)
		if e.status >= 500 {
			h.log.Error("emr", "op", op, "err", err)
		}
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(out)
}

func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, hearth.ErrConflict) && strings.Contains(err.Error(), "termination protected"):
		return &apiError{400, "ValidationException", message(err)}
	case errors.Is(err, hearth.ErrInvalid), errors.Is(err, hearth.ErrNotFound), errors.Is(err, hearth.ErrConflict):
		return &apiError{400, "InvalidRequestException", message(err)}
	case errors.Is(err, hearth.ErrTooLarge):
		return &apiError{413, "RequestEntityTooLargeException", message(err)}
	}
	return internalError()
}

// internalError is what the caller sees of a failure of Hearth's own: the
// details (which may name files on the server) go to the server's log.
func internalError() *apiError {
	return &apiError{500, "InternalServerError", "internal error; the Hearth server's log has the details"}
}

func message(err error) string {
	m := err.Error()
	for _, s := range []error{hearth.ErrInvalid, hearth.ErrNotFound, hearth.ErrConflict, hearth.ErrTooLarge} {
		m = strings.TrimPrefix(m, s.Error()+": ")
	}
	return m
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.typ)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

// decode reads an operation's input strictly: a member EMR does not have is
// an error naming it.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{400, "SerializationException", "malformed request: " + jsonProblem(err, len(body))}
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{400, "SerializationException", fmt.Sprintf("malformed request: body: more data after the JSON object (after byte %d); send exactly one JSON object", end)}
	}
	return nil
}

// jsonProblem words a decoding error so that it locates the problem:
// encoding/json gives no offset for a syntax error or a body cut short,
// and names a Go type, not a member, when the body is not an object.
func jsonProblem(err error, size int) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("body: %v (at byte %d)", se, se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Sprintf("body: ends inside a JSON value (at byte %d); send one complete JSON object", size)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("body: must be a JSON object, got a JSON %s", te.Value)
	}
	return err.Error()
}

func required(field, v string) error {
	if v == "" {
		return &apiError{400, "ValidationException", fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)}
	}
	return nil
}

// page cuts items at marker (an offset), 50 at a time, EMR's page size.
func page[T any](items []T, marker string) ([]T, *string, error) {
	const size = 50
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, &apiError{400, "InvalidRequestException", fmt.Sprintf("Marker %q is not valid; pass the Marker of the previous page", marker)}
		}
		start = n
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		m := strconv.Itoa(end)
		next = &m
	}
	return items[start:end], next, nil
}

// pageOf is EMR's list answer: {key: one page of items, "Marker": where the
// next page starts}, Marker omitted on the last page.
func pageOf[T any](key string, items []T, marker string) (any, error) {
	p, next, err := page(items, marker)
	if err != nil {
		return nil, err
	}
	if p == nil {
		p = []T{}
	}
	out := map[string]any{key: p}
	if next != nil {
		out["Marker"] = *next
	}
	return out, nil
}
