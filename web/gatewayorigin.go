package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api/sigv4"
)

// The gateway runs on an origin of its own (its own listener), so that a
// script in a proxied page — a notebook's output, a Spark page — cannot act
// as the console: the browser keeps it from reading console pages (their
// CSRF tokens) or the API's answers, and the console refuses its requests
// by their Origin. A browser gets into the gateway without logging in
// again: the console sends it to the gateway with a grant (signed,
// single-use, valid for grantTTL) that the gateway exchanges for its own
// cookie before redirecting to the clean URL.
//
// Cookies are not isolated by port: the browser sends the console's cookie
// to the gateway's port too (and SameSite treats both ports as one site).
// The gateway ignores it and strips every cookie before proxying; the
// console never accepts the gateway's cookie.

const (
	// gatewayCookie is the gateway's session: HttpOnly, SameSite=Lax (a
	// link from elsewhere to a gateway page still opens it), Secure over
	// TLS.
	gatewayCookie = "hearth_gateway"
	// grantPath is where the gateway exchanges a grant for its cookie.
	grantPath = "/hearth/grant"
	grantTTL  = 30 * time.Second
)

// gatewayAuth holds the gateway's grants and sessions. A gateway session
// lasts as long as the console session it was granted from: logging out of
// the console (or deleting its access key) ends both.
type gatewayAuth struct {
	key []byte // signs grants; a restarted server's grants are void

	mu       sync.Mutex
	grants   map[[16]byte]time.Time          // grant nonce -> expiry, until used
	sessions map[[32]byte]gatewaySessionLink // SHA-256 of the cookie -> session
}

type gatewaySessionLink struct {
	console [32]byte // the console session's key (SHA-256 of its cookie)
	expires time.Time
}

func newGatewayAuth() *gatewayAuth {
	key := make([]byte, 32)
	rand.Read(key)
	return &gatewayAuth{key: key, grants: map[[16]byte]time.Time{}, sessions: map[[32]byte]gatewaySessionLink{}}
}

// mint returns a grant for the console session console to open path (a
// path and query on the gateway) until now+grantTTL.
//
// A grant is base64url(nonce[16] | expiry[8] | console[32] | path) "."
// base64url(HMAC-SHA256(key, that)).
func (g *gatewayAuth) mint(console [32]byte, path string, now time.Time) string {
	var nonce [16]byte
	rand.Read(nonce[:])
	exp := now.Add(grantTTL)
	payload := make([]byte, 0, 56+len(path))
	payload = append(payload, nonce[:]...)
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp.UnixNano()))
	payload = append(payload, console[:]...)
	payload = append(payload, path...)
	g.mu.Lock()
	for n, e := range g.grants {
		if now.After(e) {
			delete(g.grants, n)
		}
	}
	g.grants[nonce] = exp
	g.mu.Unlock()
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(g.sign(payload))
}

func (g *gatewayAuth) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write(payload)
	return m.Sum(nil)
}

// redeem checks a grant and uses it up: it returns the console session and
// the path the grant was minted for, or an errForbidden saying why not (a
// wrong signature, expired, used already).
func (g *gatewayAuth) redeem(grant string, now time.Time) (console [32]byte, path string, err error) {
	p, s, _ := strings.Cut(grant, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	sig, err2 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil || len(payload) < 56 || !hmac.Equal(sig, g.sign(payload)) {
		return console, "", fmt.Errorf("%w: the link into the gateway is not one this server made; open the UI from the console again", errForbidden)
	}
	var nonce [16]byte
	copy(nonce[:], payload)
	exp := time.Unix(0, int64(binary.BigEndian.Uint64(payload[16:24])))
	copy(console[:], payload[24:56])
	g.mu.Lock()
	_, pending := g.grants[nonce]
	delete(g.grants, nonce)
	g.mu.Unlock()
	if now.After(exp) {
		return console, "", fmt.Errorf("%w: the link into the gateway expired (it lasts %s); open the UI from the console again", errForbidden, grantTTL)
	}
	if !pending {
		return console, "", fmt.Errorf("%w: the link into the gateway was used already; open the UI from the console again", errForbidden)
	}
	return console, string(payload[56:]), nil
}

// open starts a gateway session for console and returns its cookie value.
func (g *gatewayAuth) open(console [32]byte, expires, now time.Time) string {
	id := randomToken()
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range g.sessions {
		if now.After(v.expires) {
			delete(g.sessions, k)
		}
	}
	g.sessions[sha256.Sum256([]byte(id))] = gatewaySessionLink{console: console, expires: expires}
	return id
}

func (g *gatewayAuth) lookup(id string, now time.Time) (gatewaySessionLink, bool) {
	key := sha256.Sum256([]byte(id))
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.sessions[key]
	if ok && now.After(l.expires) {
		delete(g.sessions, key)
		return l, false
	}
	return l, ok
}

// liveSession returns the console session whose key is key if it is still
// open (and its access key, if any, still exists).
func (s *Server) liveSession(ctx context.Context, key [32]byte) *session {
	sess := s.sessions.get(ctx, key, s.now())
	if sess != nil && sess.accessKey != "" {
		if _, err := s.cp.SecretFor(ctx, sess.accessKey); err != nil {
			s.sessions.delete(ctx, key)
			return nil
		}
	}
	return sess
}

// gatewaySession returns the console session behind r's gateway cookie, or
// nil. The console's own cookie, which the browser sends here too, counts
// for nothing.
func (s *Server) gatewaySession(r *http.Request) *session {
	c, err := r.Cookie(gatewayCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	l, ok := s.gw.lookup(c.Value, s.now())
	if !ok {
		return nil
	}
	return s.liveSession(r.Context(), l.console)
}

// scheme is how r reached this server.
func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// originOn is r's scheme and host name with another port: the browser
// reaches the console and the gateway by the same name.
func originOn(r *http.Request, port int) string {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = strings.Trim(r.Host, "[]")
	}
	return scheme(r) + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// GatewayOrigin is where the browser that sent r (to the console) finds
// the gateway: the same scheme and host name, on the gateway's port.
func (s *Server) GatewayOrigin(r *http.Request) string { return originOn(r, s.gatewayPort) }

// ownOrigin is the origin r was sent to.
func ownOrigin(r *http.Request) string { return scheme(r) + "://" + r.Host }

// toGateway answers the console's old gateway paths, and the gateway's
// redirect of a browser without a gateway session: it sends the browser to
// the same path on the gateway with a grant for its console session.
func (s *Server) toGateway(w http.ResponseWriter, r *http.Request, _ *session) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return fmt.Errorf("%w: no console session", hearth.ErrUnauthorized)
	}
	grant := s.gw.mint(sha256.Sum256([]byte(c.Value)), r.URL.RequestURI(), s.now())
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, s.GatewayOrigin(r)+grantPath+"?grant="+url.QueryEscape(grant), http.StatusSeeOther)
	return nil
}

// redeemGrant is the gateway's end of toGateway: a good grant becomes the
// gateway's cookie and a redirect to the page it was minted for, so the
// grant leaves the address bar at once.
func (s *Server) redeemGrant(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	console, path, err := s.gw.redeem(r.URL.Query().Get("grant"), s.now())
	if err != nil {
		s.log.Warn("gateway grant refused", "remote", r.RemoteAddr, "reason", message(err))
		s.gatewayFail(w, r, err)
		return
	}
	sess := s.liveSession(r.Context(), console)
	if sess == nil {
		s.gatewayFail(w, r, fmt.Errorf("%w: the console session ended; log in to the console again", hearth.ErrUnauthorized))
		return
	}
	id := s.gw.open(console, sess.expires, s.now())
	http.SetCookie(w, &http.Cookie{
		Name: gatewayCookie, Value: id, Path: "/", MaxAge: int(sess.expires.Sub(s.now()).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// GatewayRoutes returns the gateway's route table: every entry needs
// AuthGateway.
func (s *Server) GatewayRoutes() []Route { return s.gatewayRoutes }

// GatewayHandler serves the gateway's origin: the UIs of every cluster, the
// grant exchange, and nothing of the console or the API.
func (s *Server) GatewayHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+grantPath, func(w http.ResponseWriter, r *http.Request) {
		if !s.checkGatewayOrigin(w, r) {
			return
		}
		s.redeemGrant(w, r)
	})
	for _, rt := range s.gatewayRoutes {
		pattern := rt.Pattern
		if rt.Method != "" {
			pattern = rt.Method + " " + pattern
		}
		mux.Handle(pattern, s.wrapGateway(rt))
	}
	return mux
}

// checkGatewayOrigin refuses a request whose Origin is not the gateway's
// own: another site's page, the console's, "null".
func (s *Server) checkGatewayOrigin(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != ownOrigin(r) {
		s.gatewayFail(w, r, fmt.Errorf("%w: cross-origin request from %s refused: the gateway answers only its own pages", errForbidden, o))
		return false
	}
	return true
}

// gatewayRequest marks a request's context as the gateway's, so fail
// answers it without anything of the console.
type gatewayRequest struct{}

func (s *Server) wrapGateway(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), gatewayRequest{}, true))
		if !s.checkGatewayOrigin(w, r) {
			return
		}
		sess := s.gatewaySession(r)
		switch {
		case sess != nil:
			// A cookie comes with every request the browser makes here:
			// a state-changing one, or a WebSocket, must show it comes
			// from a gateway page.
			changing := r.Method != http.MethodGet && r.Method != http.MethodHead || r.Header.Get("Upgrade") != ""
			if changing && !sameOrigin(r) {
				s.gatewayFail(w, r, fmt.Errorf("%w: a %s through the gateway must come from a page of the gateway (no Origin or Referer)", errForbidden, r.Method))
				return
			}
		case r.Header.Get("Authorization") != "" || sigv4.IsSigned(r):
			if err := s.api.Authenticate(r); err != nil {
				s.gatewayFail(w, r, err)
				return
			}
		default:
			s.gatewayUnauthenticated(w, r)
			return
		}
		// Checked here; the upstream (which sees the gateway's request to
		// its own address) must not judge it again against its own host.
		r.Header.Del("Origin")
		// No cookie of this host (the gateway's or the console's) goes any
		// further, nor into an error page.
		r.Header.Del("Cookie")
		if err := rt.handle(w, r, nil); err != nil {
			if r.Context().Err() != nil {
				return
			}
			s.gatewayFail(w, r, err)
		}
	})
}

// gatewayUnauthenticated sends a browser without a gateway session to the
// console's address for the same page, which grants one (after a login if
// needed); anything else gets 401.
func (s *Server) gatewayUnauthenticated(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Upgrade") == "" &&
		strings.Contains(r.Header.Get("Accept"), "text/html") && strings.HasPrefix(r.URL.Path, "/clusters/") {
		http.Redirect(w, r, originOn(r, s.consolePort)+r.URL.RequestURI(), http.StatusSeeOther)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="hearth-gateway"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "open this UI from the console, or send Authorization: Bearer <admin token>"})
}

// gatewayFail answers an error on the gateway's origin: a message, never a
// console page (no console links, no session, no CSRF token).
func (s *Server) gatewayFail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := status(err), message(err)
	if code == http.StatusInternalServerError {
		s.log.Error("gateway request", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = internalMessage
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "%d %s\n\n%s\n", code, http.StatusText(code), msg)
		return
	}
	writeJSON(w, code, map[string]string{"message": msg})
}

func isGatewayRequest(r *http.Request) bool {
	v, _ := r.Context().Value(gatewayRequest{}).(bool)
	return v
}
