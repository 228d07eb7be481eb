package main

import (
	"testing"
	"time"
)

// TestHTTPServerTimeouts: no client can hold a connection open by
// trickling a request or never reading the answer.
func TestHTTPServerTimeouts(t *testing.T) {
	s := newHTTPServer(nil)
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout,
	} {
		if got <= 0 || got > 5*time.Minute {
			t.Errorf("%s = %s; want a bound between 0 and 5m", name, got)
		}
	}
	// Long-polls last 25 s: the write timeout must outlast them.
	if s.WriteTimeout <= 30*time.Second {
		t.Errorf("WriteTimeout %s would cut the 25 s long-polls", s.WriteTimeout)
	}
}
