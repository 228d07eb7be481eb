package failover

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	e := New(" http://a:1/, http://b:2 ,,http://c:3")
	if got := fmt.Sprint(e.All()); got != "[http://a:1 http://b:2 http://c:3]" {
		t.Fatalf("All = %s", got)
	}
	if !e.Failed("http://a:1") || e.Current() != "http://b:2" {
		t.Fatalf("after a failed: current %s, want b", e.Current())
	}
	e.Failed("http://a:1") // a stale failure moves nothing
	if e.Current() != "http://b:2" {
		t.Errorf("a stale failure moved current to %s", e.Current())
	}
	if got := fmt.Sprint(e.All()); got != "[http://b:2 http://c:3 http://a:1]" {
		t.Errorf("All = %s, want current first", got)
	}
	e.Set([]string{"http://c:3", "http://b:2"})
	if e.Current() != "http://b:2" {
		t.Errorf("Set moved current to %s", e.Current())
	}
	e.Set(nil)
	if e.Current() != "http://b:2" {
		t.Errorf("an empty Set changed current to %s", e.Current())
	}
	if New("http://only").Failed("http://only") {
		t.Error("Failed with one URL says another is left")
	}
}

// TestUnreachable: a refused connection is unreachable; an answer (even
// an error status) is not.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/", nil)
	_, err = http.DefaultClient.Do(req)
	if !Unreachable(err) {
		t.Errorf("a refused connection: Unreachable(%v) = false", err)
	}
	if Unreachable(context.Canceled) || Unreachable(nil) {
		t.Error("Unreachable of a non-dial error is true")
	}
}

// TestTransport: a request goes to the first endpoint that answers, with
// its body, and the next request starts there.
func TestTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e := New(dead + "," + srv.URL + "/base")
	c := &http.Client{Transport: &Transport{Endpoints: e}}
	for range 2 {
		resp, err := c.Post("http://anything/x", "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("status %d", resp.StatusCode)
		}
	}
	if fmt.Sprint(got) != "[POST /base/x body POST /base/x body]" || e.Current() != srv.URL+"/base" {
		t.Errorf("server saw %q, current %s", got, e.Current())
	}
}
