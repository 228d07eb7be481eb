package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
)

// gatewayApp is one UI the gateway serves for every cluster, under
// /clusters/<id>/<Name>/. Adding a UI (the History Server, Jupyter) is one
// entry here plus the Spark settings that make it generate links under its
// prefix. Spark refuses a reverse-proxy prefix containing "proxy" or
// "history", so names must avoid both; "hs" (History Server) and
// "jupyter" are reserved for those two.
type gatewayApp struct {
	Name  string
	Title string
	// Upstream is where the control plane reaches the UI of a cluster.
	Upstream func(cp *control.Server, ctx context.Context, clusterID string) (*url.URL, error)
	// Authorization is the Authorization header the upstream wants ("" for
	// none): the gateway's own credential, which users never see.
	Authorization func(cp *control.Server, ctx context.Context, clusterID string) (string, error)
}

var gatewayApps = []gatewayApp{
	{Name: "ui", Title: "Spark master UI", Upstream: (*control.Server).MasterUI, Authorization: (*control.Server).SparkUIAuthorization},
	{Name: "hs", Title: "Spark History Server", Upstream: (*control.Server).HistoryUI, Authorization: (*control.Server).SparkUIAuthorization},
	{Name: "jupyter", Title: "JupyterLab", Upstream: (*control.Server).JupyterUI, Authorization: (*control.Server).JupyterAuthorization},
}

// gatewayPrefix is where app's UI of cluster id is served.
func gatewayPrefix(id string, app gatewayApp) string { return "/clusters/" + id + "/" + app.Name }

// gatewayRoot sends /clusters/<id>/ui to /clusters/<id>/ui/.
func (s *Server) gatewayRoot(app gatewayApp) func(http.ResponseWriter, *http.Request, *session) error {
	return func(w http.ResponseWriter, r *http.Request, _ *session) error {
		target := gatewayPrefix(r.PathValue("id"), app) + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
		return nil
	}
}

// gateway reverse-proxies /clusters/<id>/<app>/<path> to <upstream>/<path>.
// Spark's reverse-proxy mode makes the master UI serve the workers' and
// running applications' UIs under its /proxy/<worker-or-app-id>/ and write
// every link with the gateway's prefix; the few links and redirects it
// leaves without it are rewritten here.
func (s *Server) gateway(app gatewayApp) func(http.ResponseWriter, *http.Request, *session) error {
	return func(w http.ResponseWriter, r *http.Request, _ *session) error {
		id := r.PathValue("id")
		up, err := app.Upstream(s.cp, r.Context(), id)
		if err != nil {
			return err
		}
		var authorization string
		if app.Authorization != nil {
			if authorization, err = app.Authorization(s.cp, r.Context(), id); err != nil {
				return err
			}
		}
		prefix := gatewayPrefix(id, app)
		rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
		if m := proxiedTarget.FindString(rest); m != "" && m == rest && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			// Spark links to /proxy/<id> without the slash, and its
			// master mangles the redirect it sends for an application's
			// (dropping part of the id): add the slash here.
			target := prefix + rest + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusFound)
			return nil
		}
		base := rewriteBase(prefix, rest)
		// The server's deadlines suit API calls, not a JupyterLab kernel's
		// WebSocket (hijacked: it keeps the connection's deadlines) or a
		// large event log download.
		rc := http.NewResponseController(w)
		if r.Header.Get("Upgrade") != "" {
			rc.SetReadDeadline(time.Time{})
			rc.SetWriteDeadline(time.Time{})
		} else {
			rc.SetWriteDeadline(time.Now().Add(gatewayWriteTimeout))
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
				pr.Out.URL.RawPath = strings.TrimSuffix(up.EscapedPath(), "/") + rest
				pr.Out.URL.Path, _ = url.PathUnescape(pr.Out.URL.RawPath)
				pr.Out.Host = up.Host
				// The console's credentials are for the console, not Spark.
				pr.Out.Header.Del("Cookie")
				pr.Out.Header.Del("Authorization")
				pr.Out.Header.Del("X-Csrf-Token")
				for k := range pr.Out.Header {
					if strings.HasPrefix(k, "X-Amz-") {
						pr.Out.Header.Del(k)
					}
				}
				// Plain bodies, so links can be rewritten; the transport
				// still compresses on the wire to the upstream.
				pr.Out.Header.Del("Accept-Encoding")
				if authorization != "" {
					pr.Out.Header.Set("Authorization", authorization)
				}
			},
			ModifyResponse: func(resp *http.Response) error {
				if loc := resp.Header.Get("Location"); loc != "" {
					resp.Header.Set("Location", rewriteLocation(loc, up, prefix))
				}
				resp.Header.Del("Set-Cookie")
				resp.Header.Set("Referrer-Policy", "same-origin")
				resp.Header.Set("Cache-Control", "no-store")
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Encoding") != "" {
					return nil
				}
				body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
				resp.Body.Close()
				if err != nil {
					return err
				}
				body = rewriteHTML(body, prefix, base)
				resp.Body = io.NopCloser(bytes.NewReader(body))
				resp.ContentLength = int64(len(body))
				resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if r.Context().Err() != nil {
					return
				}
				s.fail(w, r, s.session(r), fmt.Errorf("%w: the %s of cluster %s (%s) did not answer: %v", hearth.ErrUnavailable, app.Title, id, up.Redacted(), err))
			},
		}
		proxy.ServeHTTP(w, r)
		return nil
	}
}

// gatewayWriteTimeout bounds how long one proxied answer may take to send.
const gatewayWriteTimeout = 15 * time.Minute

// proxiedTarget matches the part of a gateway path that names a UI the
// Spark master proxies: /proxy/<worker-or-app-id>.
var proxiedTarget = regexp.MustCompile(`^/proxy/[^/?#]+`)

// rewriteBase is what a root-relative link in a page at rest (the path
// under prefix) is relative to: the page's UI's root. That is the master
// UI's (prefix) except for pages of a worker or application UI that the
// master proxies, whose root is prefix/proxy/<id>.
func rewriteBase(prefix, rest string) string {
	if m := proxiedTarget.FindString(rest); m != "" {
		return prefix + m
	}
	return prefix
}

// rewriteLocation keeps a redirect inside the gateway: one to the
// upstream's own address, or to a root-relative path without the gateway's
// prefix, is put under prefix. (Redirects are always relative to the
// upstream's root: the master's proxy rewrites those of the UIs behind it
// to its own address and /proxy/<id>/.)
func rewriteLocation(loc string, up *url.URL, prefix string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	if u.IsAbs() || u.Host != "" {
		if u.Host != up.Host {
			return loc
		}
		u.Scheme, u.Host, u.User = "", "", nil
	}
	if strings.HasPrefix(u.Path, "/") && u.Path != prefix && !strings.HasPrefix(u.Path, prefix+"/") {
		u.Path = prefix + u.Path
		u.RawPath = ""
	}
	return u.String()
}

// rootRelative matches href, src and action attributes whose value is a
// root-relative path (one slash, not two).
var rootRelative = regexp.MustCompile(`(?i)(\s(?:href|src|action)\s*=\s*["'])(/(?:[^/"'][^"']*)?)(["'])`)

// rewriteHTML puts base in front of every root-relative link of a page
// that does not already start with the gateway's prefix (Spark writes a
// few, such as the master page's /environment/ and /logPage/ links).
func rewriteHTML(body []byte, prefix, base string) []byte {
	return rootRelative.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := rootRelative.FindSubmatch(m)
		path := string(sub[2])
		if p := template.HTMLEscapeString(prefix); path == p || strings.HasPrefix(path, p+"/") || strings.HasPrefix(path, p+"?") {
			return m
		}
		out := append([]byte{}, sub[1]...)
		out = append(out, template.HTMLEscapeString(base)...)
		out = append(out, sub[2]...)
		return append(out, sub[3]...)
	})
}

// gatewayReferer matches a gateway page's path: the cluster, the app, and
// the proxied UI if any.
var gatewayReferer = regexp.MustCompile(`^/clusters/([^/]+)/([^/]+)(/proxy/[^/?#]+)?(?:/|$)`)

// fallback answers every path no route claims. A link that a proxied
// Spark page left without the gateway's prefix (one written by script,
// which rewriteHTML cannot see) arrives here with that page as its
// Referer: it is sent back under the page's UI root.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request, _ *session) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
			if m := gatewayReferer.FindStringSubmatch(ref.Path); m != nil {
				for _, app := range gatewayApps {
					if app.Name == m[2] {
						http.Redirect(w, r, "/clusters/"+m[1]+"/"+app.Name+m[3]+r.URL.RequestURI(), http.StatusFound)
						return nil
					}
				}
			}
		}
	}
	return fmt.Errorf("%w: no page %s", hearth.ErrNotFound, r.URL.Path)
}
