// Package failover picks among the URLs of a replicated control plane:
// calls go to the current one, and one that cannot be reached makes the
// next current. Only an unreachable server is left: a request it answered,
// even with an error, was delivered, and sending it elsewhere could do it
// twice.
package failover

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Endpoints is a list of base URLs, safe for concurrent use.
type Endpoints struct {
	mu   sync.Mutex
	urls []string
	cur  int
}

// New returns the endpoints in list, comma-separated (a single URL is a
// list of one). Trailing slashes are dropped.
func New(list string) *Endpoints {
	e := &Endpoints{}
	e.Set(Split(list))
	return e
}

// Split returns the URLs of a comma-separated list.
func Split(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Current is the URL to call.
func (e *Endpoints) Current() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.urls) == 0 {
		return ""
	}
	return e.urls[e.cur]
}

// All returns the URLs, the current one first.
func (e *Endpoints) All() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append(slices.Clone(e.urls[e.cur:]), e.urls[:e.cur]...)
}

// Failed says url could not be reached: if it is still current, the next
// URL becomes current. It reports whether another URL is left to try.
func (e *Endpoints) Failed(url string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.urls) > 0 && e.urls[e.cur] == url {
		e.cur = (e.cur + 1) % len(e.urls)
	}
	return len(e.urls) > 1
}

// Set replaces the list, keeping the current URL current if it is in it.
// An empty list changes nothing.
func (e *Endpoints) Set(urls []string) {
	if len(urls) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := ""
	if len(e.urls) > 0 {
		cur = e.urls[e.cur]
	}
	e.urls, e.cur = slices.Clone(urls), 0
	if i := slices.Index(e.urls, cur); i >= 0 {
		e.cur = i
	}
}

// Unreachable reports whether err means the server was never reached (no
// connection could be made), so the request was not delivered.
func Unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Transport sends each request to the current endpoint: the request's
// scheme and host (whatever they were) become the endpoint's, and its
// path follows the endpoint's own. When the endpoint cannot be reached it
// is marked failed and the next is tried, each once; a request whose body
// cannot be replayed (no GetBody) is not resent.
type Transport struct {
	Endpoints *Endpoints
	Base      http.RoundTripper // http.DefaultTransport when nil
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var err error
	for i, endpoint := range t.Endpoints.All() {
		u, perr := url.Parse(endpoint)
		if perr != nil {
			return nil, fmt.Errorf("endpoint %q: %w", endpoint, perr)
		}
		r := req.Clone(req.Context())
		if i > 0 && req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, err
			}
			if r.Body, perr = req.GetBody(); perr != nil {
				return nil, perr
			}
		}
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, ""
		r.URL.Path = strings.TrimRight(u.Path, "/") + req.URL.Path
		r.URL.RawPath = ""
		var resp *http.Response
		if resp, err = base.RoundTrip(r); err == nil || !Unreachable(err) {
			return resp, err
		}
		t.Endpoints.Failed(endpoint)
	}
	if err == nil {
		err = errors.New("no control plane URL")
	}
	return nil, err
}
