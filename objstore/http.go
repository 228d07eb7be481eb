package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Timeouts for every connection objstore makes. None caps a whole transfer:
// a large object may take hours.
const (
	dialTimeout = 10 * time.Second
	tlsTimeout  = 10 * time.Second
	// httpHeaderTimeout bounds the wait for an http(s) server's answer to a
	// GET or HEAD; it has no work to do before answering.
	httpHeaderTimeout = time.Minute
)

// httpStore reads objects over http(s). It cannot write or list.
type httpStore struct {
	client *http.Client
}

var _ backend = (*httpStore)(nil)

func newHTTPStore() *httpStore {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = tlsTimeout
	tr.ResponseHeaderTimeout = httpHeaderTimeout
	return &httpStore{client: &http.Client{Transport: tr}}
}

func (h *httpStore) get(ctx context.Context, uri string, u URI) (io.ReadCloser, error) {
	resp, err := h.do(ctx, http.MethodGet, uri)
	if err != nil {
		return nil, httpError("get", uri, err)
	}
	if resp.StatusCode/100 != 2 {
		resp.Body.Close()
		return nil, statusError("get", uri, resp)
	}
	return resp.Body, nil
}

// stat asks with HEAD, and with GET (closing the body unread) when the
// server refuses HEAD.
func (h *httpStore) stat(ctx context.Context, uri string, u URI) (Object, error) {
	resp, err := h.do(ctx, http.MethodHead, uri)
	if err == nil && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) {
		resp.Body.Close()
		resp, err = h.do(ctx, http.MethodGet, uri)
	}
	if err != nil {
		return Object{}, httpError("stat", uri, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return Object{}, statusError("stat", uri, resp)
	}
	obj := Object{URI: uri, Size: resp.ContentLength}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		obj.ModTime = t
	}
	return obj, nil
}

func (h *httpStore) put(ctx context.Context, uri string, u URI, r io.Reader) error {
	return readOnly("put", uri)
}

func (h *httpStore) list(ctx context.Context, prefix string, u URI) ([]Object, error) {
	return nil, readOnly("list", prefix)
}

func readOnly(op, uri string) error {
	return &Error{Op: op, URI: redactURL(uri), Kind: ErrUnsupported,
		Msg: "http(s) is read-only; write to s3:// or file:// instead"}
}

func (h *httpStore) do(ctx context.Context, method, uri string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, uri, nil)
	if err != nil {
		return nil, err
	}
	return h.client.Do(req)
}

// httpError describes a request that got no response.
func httpError(op, uri string, err error) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err // ue's text repeats the method and the URL
	}
	return &Error{Op: op, URI: redactURL(uri), Msg: cause.Error(), Err: err}
}

// statusError describes a response that is not a success.
func statusError(op, uri string, resp *http.Response) error {
	e := &Error{Op: op, URI: redactURL(uri), Msg: fmt.Sprintf("HTTP %s", resp.Status)}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		e.Kind, e.Msg = ErrNotFound, fmt.Sprintf("not found (HTTP %d)", resp.StatusCode)
	case http.StatusUnauthorized, http.StatusForbidden:
		// Hearth sends no credentials over http(s): the URL itself must
		// grant access.
		e.Kind, e.Msg = ErrDenied, fmt.Sprintf("access denied (HTTP %d): use a public or presigned URL", resp.StatusCode)
	}
	return e
}
