package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hearthcluster/hearth"
)

// Cookie names. The session cookie is HttpOnly and SameSite=Strict, and
// Secure when the console is served over TLS.
const (
	sessionCookie = "hearth_session"
	loginCookie   = "hearth_login" // the login form's CSRF token
)

// session is one logged-in browser. Sessions live in the server's memory
// (a restarted server asks everyone to log in again), or, when replicas
// share the store, in the store: a login on one replica works on all.
// Logging out ends the session for good.
type session struct {
	csrf string
	// who is shown in the page header: "admin" or the access key id.
	who string
	// accessKey is the access key the session was opened with, if any;
	// deleting the key ends the session.
	accessKey string
	expires   time.Time

	key    [32]byte      // SHA-256 of the cookie
	shared *sessionStore // set when the session lives in the store

	mu    sync.Mutex
	flash string
}

// setFlash leaves a one-line notice for the next page the session sees.
func (s *session) setFlash(msg string) {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.shared.store.SetSessionFlash(ctx, hex.EncodeToString(s.key[:]), msg)
		return
	}
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

func (s *session) takeFlash() string {
	if s.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f, _ := s.shared.store.TakeSessionFlash(ctx, hex.EncodeToString(s.key[:]))
		return f
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

type sessionStore struct {
	ttl time.Duration
	// store keeps the sessions when replicas share it; nil keeps them
	// in m.
	store hearth.ReplicatedStore
	mu    sync.Mutex
	// m is keyed by the SHA-256 of the cookie value: the values themselves
	// are not kept.
	m map[[32]byte]*session
}

func newSessionStore(ttl time.Duration, store hearth.Store) *sessionStore {
	st := &sessionStore{ttl: ttl, m: map[[32]byte]*session{}}
	st.store, _ = store.(hearth.ReplicatedStore)
	return st
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create opens a session and returns its cookie value.
func (st *sessionStore) create(ctx context.Context, who, accessKey string, now time.Time) (string, error) {
	id := randomToken()
	sess := &session{csrf: randomToken(), who: who, accessKey: accessKey, expires: now.Add(st.ttl), key: sha256.Sum256([]byte(id))}
	if st.store != nil {
		return id, st.store.PutSession(ctx, &hearth.Session{Key: hex.EncodeToString(sess.key[:]), Who: who, AccessKey: accessKey, CSRF: sess.csrf, Expires: sess.expires})
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, v := range st.m {
		if now.After(v.expires) {
			delete(st.m, k)
		}
	}
	st.m[sess.key] = sess
	return id, nil
}

// get returns the live session whose key (the SHA-256 of its cookie) is
// key, or nil.
func (st *sessionStore) get(ctx context.Context, key [32]byte, now time.Time) *session {
	if st.store != nil {
		v, err := st.store.Session(ctx, hex.EncodeToString(key[:]))
		if err != nil || now.After(v.Expires) {
			return nil
		}
		return &session{csrf: v.CSRF, who: v.Who, accessKey: v.AccessKey, expires: v.Expires, key: key, shared: st}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	sess := st.m[key]
	if sess != nil && now.After(sess.expires) {
		delete(st.m, key)
		return nil
	}
	return sess
}

func (st *sessionStore) delete(ctx context.Context, key [32]byte) {
	if st.store != nil {
		st.store.DeleteSession(ctx, hex.EncodeToString(key[:]))
		return
	}
	st.mu.Lock()
	delete(st.m, key)
	st.mu.Unlock()
}

// session returns r's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.liveSession(r.Context(), sha256.Sum256([]byte(c.Value)))
}

// checkCSRF requires the session's CSRF token in the form field "csrf" or
// the X-CSRF-Token header, and refuses a request whose Origin is another
// site's.
func (s *Server) checkCSRF(r *http.Request, sess *session) error {
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(r) {
		return fmt.Errorf("%w: cross-site request from %s refused", errForbidden, o)
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf")
	}
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) != 1 {
		return fmt.Errorf("%w: the form's security token is missing or stale; reload the page and submit again", errForbidden)
	}
	return nil
}

// sameOrigin reports whether r's Origin (or, without one, its Referer)
// names the host r was sent to.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Referer()
	}
	u, err := url.Parse(src)
	return err == nil && src != "" && u.Host == r.Host
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

type loginData struct {
	Next  string
	Error string
	// KeyID is kept when an access key login fails; secrets never are.
	KeyID string
}

// localPath returns next if it is a path on this server, else "/": the
// login form must not redirect anywhere else.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	next := localPath(r.URL.Query().Get("next"))
	if s.session(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	s.renderLogin(w, r, http.StatusOK, loginData{Next: next})
	return nil
}

// renderLogin shows the login form with a fresh CSRF token, which the
// browser also holds in the login cookie (double submit: a form posted
// from another site cannot know it).
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	token := randomToken()
	setCookie(w, r, loginCookie, token, "/login", 3600)
	s.render(w, r, code, "login", &session{csrf: token}, "Log in", d)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	// The Origin check matters for the gateway's origin: the same host on
	// another port is the same site to the browser, and a script there can
	// set a cookie for this host (the double submit alone would not do).
	crossOrigin := r.Header.Get("Origin") != "" && !sameOrigin(r)
	if err != nil || form == "" || crossOrigin || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		s.renderLogin(w, r, http.StatusForbidden, loginData{Next: localPath(r.PostFormValue("next")), Error: "The login form expired or came from another site. Log in again."})
		return nil
	}
	d := loginData{Next: localPath(r.PostFormValue("next"))}
	token := strings.TrimSpace(r.PostFormValue("token"))
	keyID := strings.TrimSpace(r.PostFormValue("access_key_id"))
	var who, accessKey string
	switch {
	case keyID != "":
		secret, err := s.cp.SecretFor(r.Context(), keyID)
		given := strings.TrimSpace(r.PostFormValue("secret"))
		if err != nil || given == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(given)) != 1 {
			d.Error, d.KeyID = "Unknown access key, or wrong secret access key.", keyID
			s.log.Warn("console login refused", "access_key_id", keyID, "remote", r.RemoteAddr)
			s.renderLogin(w, r, http.StatusUnauthorized, d)
			return nil
		}
		who, accessKey = keyID, keyID
	case s.api.IsAdminToken(token):
		who = "admin"
	default:
		d.Error = "Wrong admin token. It is the content of $HEARTH_HOME/admin.token on the server's host (default ~/.hearth/admin.token)."
		if token == "" {
			d.Error = "Give the admin token, or an access key id and its secret."
		}
		s.log.Warn("console login refused", "remote", r.RemoteAddr)
		s.renderLogin(w, r, http.StatusUnauthorized, d)
		return nil
	}
	id, err := s.sessions.create(r.Context(), who, accessKey, s.now())
	if err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, id, "/", int(s.sessions.ttl.Seconds()))
	setCookie(w, r, loginCookie, "", "/login", -1)
	s.log.Info("console login", "who", who, "remote", r.RemoteAddr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ *session) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(r.Context(), sha256.Sum256([]byte(c.Value)))
	}
	setCookie(w, r, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
