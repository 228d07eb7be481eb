package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth"
)

func TestStatusAndMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"invalid", hearth.Invalid("offset", "-1", "must be >= 0"), http.StatusBadRequest, "offset"},
		{"forbidden", fmt.Errorf("%w: access keys need the admin token", hearth.ErrForbidden), http.StatusForbidden, "access keys need the admin token"},
		{"csrf", fmt.Errorf("%w: stale token", errForbidden), http.StatusForbidden, "stale token"},
		{"too large", fmt.Errorf("%w: body: must be at most 1 bytes", hearth.ErrTooLarge), http.StatusRequestEntityTooLarge, "body: must be at most 1 bytes"},
		{"not found", fmt.Errorf("%w: no cluster j-X", hearth.ErrNotFound), http.StatusNotFound, "no cluster j-X"},
		{"unexpected", errors.New("open /home/hearth/secret.db: disk on fire"), http.StatusInternalServerError, "open /home"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status(tc.err); got != tc.code {
				t.Errorf("status %d, want %d", got, tc.code)
			}
			if got := message(tc.err); !strings.HasPrefix(got, tc.msg) && !strings.Contains(got, tc.msg) {
				t.Errorf("message %q, want it to say %q", got, tc.msg)
			}
		})
	}
}

// TestFailHidesInternalErrors: a 500 says nothing of the error (it may name
// server paths); the details go to the log.
func TestFailHidesInternalErrors(t *testing.T) {
	var logged strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil)), pages: parsePages()}
	for _, accept := range []string{"application/json", "text/html"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/clusters/j-1", nil)
		req.Header.Set("Accept", accept)
		s.fail(rec, req, nil, errors.New("open /home/hearth/.hearth/hearth.db: disk on fire"))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusInternalServerError || strings.Contains(string(body), "/home/hearth") || !strings.Contains(string(body), "internal error") {
			t.Errorf("Accept %s: %d %s", accept, rec.Code, body)
		}
	}
	if !strings.Contains(logged.String(), "disk on fire") {
		t.Errorf("the log lacks the error: %s", logged.String())
	}
}
