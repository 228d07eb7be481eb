package web

import "time"

// SetClock makes s read the time from now (grant and session expiry).
func SetClock(s *Server, now func() time.Time) { s.now = now }
