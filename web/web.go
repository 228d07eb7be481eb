package web

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
)

//go:embed templates static
var assets embed.FS

// Auth is the credential a console or gateway route requires.
type Auth int

const (
	// AuthPublic: nothing. Only the login page and the static assets (CSS,
	// JavaScript: nothing about any cluster) are public.
	AuthPublic Auth = iota
	// AuthLogin: the login form's own CSRF cookie; the credential is what
	// the form submits.
	AuthLogin
	// AuthSession: a console session (cookie). Read-only routes.
	AuthSession
	// AuthForm: a console session plus the session's CSRF token in the
	// form (or X-CSRF-Token). Every state-changing console route.
	AuthForm
	// AuthGateway: the gateway's own session (granted by the console), or
	// the API's credential (bearer admin token, SigV4); served only on the
	// gateway's origin (GatewayHandler). A request carrying an Origin other
	// than the gateway's is refused; a cookie-authenticated request other
	// than GET/HEAD, or a WebSocket upgrade, must show it comes from a
	// gateway page (Origin or Referer).
	AuthGateway
)

func (a Auth) String() string {
	return [...]string{"public", "login", "session", "session+csrf", "gateway"}[a]
}

// Route is one entry of the console's route table.
type Route struct {
	// Method is the HTTP method, or "" for every method.
	Method  string
	Pattern string
	Auth    Auth
	handle  func(w http.ResponseWriter, r *http.Request, sess *session) error
}

// Config assembles the console.
type Config struct {
	Control *control.Server
	// API checks API credentials (login with the admin token, bearer
	// tokens at the gateway) and serves every route that is not the
	// console's.
	API    *api.Server
	Logger *slog.Logger
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// ConsolePort and GatewayPort are the ports of the console's listener
	// (Handler) and the gateway's (GatewayHandler). The browser reaches
	// both by the same host name: each side sends it to the other's port.
	ConsolePort, GatewayPort int
}

// Server serves the console and the UI gateway.
type Server struct {
	cp       *control.Server
	api      *api.Server
	log      *slog.Logger
	sessions *sessionStore
	pages    map[string]*template.Template
	routes   []Route
	// gatewayRoutes are served on the gateway's origin only.
	gatewayRoutes            []Route
	gw                       *gatewayAuth
	consolePort, gatewayPort int
	now                      func() time.Time
	http                     *http.Client // reaches the clusters' Spark UIs for the console's own reads
}

// New returns the console for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	s := &Server{
		cp: cfg.Control, api: cfg.API, log: cfg.Logger, now: time.Now,
		sessions: newSessionStore(cfg.SessionTTL, cfg.Control.Store()),
		pages:    parsePages(),
		http:     &http.Client{Timeout: 3 * time.Second},
		gw:       newGatewayAuth(), consolePort: cfg.ConsolePort, gatewayPort: cfg.GatewayPort,
	}
	s.routes = []Route{
		{"GET", "/login", AuthPublic, s.loginPage},
		{"POST", "/login", AuthLogin, s.login},
		{"POST", "/logout", AuthForm, s.logout},
		{"GET", "/static/{file}", AuthPublic, s.static},
		{"GET", "/{$}", AuthSession, s.clustersPage},
		{"GET", "/clusters/new", AuthSession, s.newClusterPage},
		{"GET", "/clusters/new/command", AuthSession, s.newClusterCommand},
		{"POST", "/clusters", AuthForm, s.createCluster},
		{"GET", "/clusters/{id}", AuthSession, s.clusterPage},
		{"GET", "/clusters/{id}/metrics.json", AuthSession, s.clusterMetrics},
		{"GET", "/clusters/{id}/terminate", AuthSession, s.terminatePage},
		{"POST", "/clusters/{id}/terminate", AuthForm, s.terminate},
		{"POST", "/clusters/{id}/steps", AuthForm, s.addStep},
		{"GET", "/clusters/{id}/steps/{step}", AuthSession, s.stepPage},
		{"POST", "/clusters/{id}/steps/{step}/cancel", AuthForm, s.cancelStep},
		{"GET", "/clusters/{id}/steps/{step}/logs/{stream}", AuthSession, s.stepLog},
	}
	for _, app := range gatewayApps {
		// The UIs are on the gateway's origin; the console sends a browser
		// there with a grant for its session.
		s.routes = append(s.routes,
			Route{"GET", "/clusters/{id}/" + app.Name, AuthSession, s.toGateway},
			Route{"GET", "/clusters/{id}/" + app.Name + "/{path...}", AuthSession, s.toGateway},
		)
		s.gatewayRoutes = append(s.gatewayRoutes,
			Route{"", "/clusters/{id}/" + app.Name, AuthGateway, s.gatewayRoot(app)},
			Route{"", "/clusters/{id}/" + app.Name + "/{path...}", AuthGateway, s.gateway(app)},
		)
	}
	s.routes = append(s.routes, Route{"", "/", AuthSession, s.notFound})
	// On the gateway, a link Spark left without the gateway's prefix is
	// sent back under it (see fallback); the rest is not found.
	s.gatewayRoutes = append(s.gatewayRoutes, Route{"", "/", AuthGateway, s.fallback})
	return s
}

// Routes returns the console's route table.
func (s *Server) Routes() []Route { return s.routes }

// Handler returns the control plane's router: the console's routes, the
// API's (each served by the API's own handler, with its own credential
// checks), and the console's catch-all for everything else. The gateway
// has its own (GatewayHandler), on its own listener.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	apiHandler := s.api.Handler()
	for _, rt := range s.api.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, apiHandler)
	}
	for _, rt := range s.routes {
		pattern := rt.Pattern
		if rt.Method != "" {
			pattern = rt.Method + " " + pattern
		}
		mux.Handle(pattern, s.wrap(rt))
	}
	return mux
}

func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		switch rt.Auth {
		case AuthSession, AuthForm:
			if sess = s.session(r); sess == nil {
				s.unauthenticated(w, r)
				return
			}
			if rt.Auth == AuthForm {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
				if err := s.checkCSRF(r, sess); err != nil {
					s.fail(w, r, sess, err)
					return
				}
			}
		}
		securityHeaders(w.Header())
		if err := rt.handle(w, r, sess); err != nil {
			if r.Context().Err() != nil {
				return
			}
			s.fail(w, r, sess, err)
		}
	})
}

// securityHeaders are set on every console response: no inline script or
// style is needed, nothing may frame the console, and no page is cached.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
}

// errForbidden is a request refused although it may be authenticated: a
// missing or wrong CSRF token, a cross-site request. It is the domain's
// ErrForbidden, so one table (status) maps both.
var errForbidden = hearth.ErrForbidden

// unauthenticated answers a request without a credential: a browser
// asking for a page is sent to the login page, anything else gets 401.
func (s *Server) unauthenticated(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "log in to the console at /login, or send Authorization: Bearer <admin token>"})
}

// status maps an error to its HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, hearth.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, hearth.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, hearth.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, hearth.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, hearth.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, hearth.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, hearth.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// message is err's text for a user, without the sentinel's prefix.
func message(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{hearth.ErrInvalid, hearth.ErrNotFound, hearth.ErrConflict, hearth.ErrUnauthorized, hearth.ErrUnavailable, hearth.ErrForbidden, hearth.ErrTooLarge} {
		msg = strings.TrimPrefix(msg, sentinel.Error()+": ")
	}
	return msg
}

// internalMessage is all a user is told of an unexpected error: its text
// may name server paths or internals, so it goes to the log only.
const internalMessage = "internal error; the server's log has the details"

// fail answers with err: an error page for a browser, JSON otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if isGatewayRequest(r) {
		s.gatewayFail(w, r, err)
		return
	}
	code, msg := status(err), message(err)
	if code == http.StatusInternalServerError {
		s.log.Error("console request", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = internalMessage
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		securityHeaders(w.Header())
		writeJSON(w, code, map[string]string{"message": msg})
		return
	}
	s.render(w, r, code, "error", sess, http.StatusText(code), errorPage{Status: code, Message: msg})
}

type errorPage struct {
	Status  int
	Message string
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// notFound answers every console path no route claims.
func (s *Server) notFound(_ http.ResponseWriter, r *http.Request, _ *session) error {
	return fmt.Errorf("%w: no page %s", hearth.ErrNotFound, r.URL.Path)
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, _ *session) error {
	name := r.PathValue("file")
	b, err := fs.ReadFile(assets, "static/"+name)
	if err != nil {
		return fmt.Errorf("%w: no static file %q", hearth.ErrNotFound, name)
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
	return nil
}
