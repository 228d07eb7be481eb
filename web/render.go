package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
)

// page is what every template gets: the layout's fields and the page's
// own Data.
type page struct {
	Title string
	// CSRF is the session's token, for the forms of the page.
	CSRF string
	// Who is the logged-in principal, empty on the login page.
	Who string
	// Gateway is the UI gateway's origin for this browser: the Spark UIs'
	// links start with it.
	Gateway string
	Flash   string
	Data    any
}

var funcs = template.FuncMap{
	"ts":       formatTime,
	"ago":      ago,
	"duration": formatDuration,
	"ms":       func(ms int64) string { return formatDuration(time.Duration(ms) * time.Millisecond) },
	"mem":      formatMB,
	"usd":      formatUSD,
	"lower":    strings.ToLower,
	"join":     strings.Join,
	"list":     func(v ...string) []string { return v },
	"shellJoin": func(args []string) string {
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = ShellQuote(a)
		}
		return strings.Join(q, " ")
	},
	"stateClass": func(s any) string {
		switch v := fmt.Sprint(s); v {
		case "WAITING", "RUNNING", "COMPLETED", "ALIVE":
			return "ok"
		case "TERMINATED_WITH_ERRORS", "FAILED", "INTERRUPTED", "DEAD":
			return "bad"
		case "TERMINATED", "CANCELLED":
			return "ended"
		}
		return "busy"
	},
}

// parsePages parses each page template with the layout.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", n))
	}
	return pages
}

// render writes page name with data, status code.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, sess *session, title string, data any) {
	p := page{Title: title, Data: data, Gateway: s.GatewayOrigin(r)}
	if sess != nil {
		p.CSRF, p.Who = sess.csrf, sess.who
		if r.Method == http.MethodGet {
			p.Flash = sess.takeFlash()
		}
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago is how long before now t was, coarsely ("3m 5s ago").
func ago(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return formatDuration(time.Since(*t)) + " ago"
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func formatMB(mb int) string {
	if mb < 1024 {
		return fmt.Sprintf("%d MiB", mb)
	}
	return fmt.Sprintf("%.1f GiB", float64(mb)/1024)
}

func formatUSD(v float64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("$%.3f/h", math.Round(v*1000)/1000)
}

// cost is what the instances of a cluster's groups cost an hour at
// on-demand prices (us-east-1), and whether every price is known.
// Local instance types cost nothing.
type cost struct {
	USD   float64
	Known bool
	Local bool
}

func (c cost) String() string {
	switch {
	case c.Local:
		return "local (no charge)"
	case !c.Known:
		return "unknown"
	}
	return formatUSD(c.USD)
}

func groupsCost(groups []hearth.InstanceGroup) cost {
	c := cost{Known: true, Local: true}
	for _, g := range groups {
		gc := groupCost(g)
		c.USD += gc.USD
		c.Known = c.Known && gc.Known
		c.Local = c.Local && gc.Local
	}
	return c
}

func groupCost(g hearth.InstanceGroup) cost {
	it, err := hearth.LookupInstanceType("", g.InstanceType)
	local := strings.HasPrefix(g.InstanceType, "local.")
	return cost{USD: it.HourlyUSD * float64(g.RequestedInstanceCount), Known: err == nil && (it.HourlyUSD > 0 || local), Local: local}
}
