package objstore

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// supported is what the errors for an unsupported URI offer instead.
const supported = "s3://, s3a://, s3n://, file://, http(s):// or an absolute path"

// URI is a parsed object URI.
type URI struct {
	Scheme string // normalised: "s3", "file", "http" or "https"
	Raw    string // the scheme as written ("s3a", "S3", "file"); "" for a plain absolute path
	Bucket string // s3: the bucket, the URI's host
	Key    string // s3: the key, without the leading slash; "" names the whole bucket
	Host   string // http(s): host[:port]
	Path   string // file: the absolute local path, cleaned, a trailing "/" kept; http(s): the escaped path and query
}

// String returns the URI in its original scheme. File paths come back
// cleaned; http(s) URIs lose any user:password and fragment.
func (u URI) String() string {
	switch u.Scheme {
	case "s3":
		if u.Key == "" {
			return u.Raw + "://" + u.Bucket
		}
		return u.Raw + "://" + u.Bucket + "/" + u.Key
	case "file":
		if u.Raw == "" {
			return u.Path
		}
		return u.Raw + "://" + u.Path
	default:
		return u.Raw + "://" + u.Host + u.Path
	}
}

// uriError is what parse finds wrong with a URI, before any operation runs.
type uriError struct {
	uri   string
	label string // "s3 URI", "file URI", "unsupported URI", ...
	kind  error  // ErrInvalidURI or ErrUnsupported
	msg   string
}

func (e *uriError) Error() string { return fmt.Sprintf("%s %q: %s", e.label, e.uri, e.msg) }
func (e *uriError) Unwrap() error { return e.kind }

// Parse checks uri and splits it into its parts. Its errors wrap
// ErrUnsupported (an unknown scheme, a relative path) or ErrInvalidURI (an
// s3 URI without a bucket, a file URI naming another host, ...), so an API
// can refuse a bad URI when it is submitted rather than when it is used.
func Parse(uri string) (URI, error) {
	u, err := parse(uri)
	if err != nil {
		return URI{}, err
	}
	return u, nil
}

// parse is Parse with the concrete error type, which the Store methods
// rephrase as "<op> <uri>: <msg>".
func parse(uri string) (URI, *uriError) {
	if uri == "" {
		return URI{}, &uriError{uri, "URI", ErrInvalidURI, "empty; use " + supported}
	}
	if strings.HasPrefix(uri, "/") {
		return URI{Scheme: "file", Path: cleanPath(uri)}, nil
	}
	raw, rest, ok := splitScheme(uri)
	if !ok {
		return URI{}, &uriError{uri, "unsupported URI", ErrUnsupported, "a relative path is not supported; use " + supported}
	}
	switch strings.ToLower(raw) {
	case "s3", "s3a", "s3n":
		return parseS3(uri, raw, rest)
	case "file":
		return parseFile(uri, raw, rest)
	case "http", "https":
		return parseHTTP(uri, raw)
	}
	return URI{}, &uriError{uri, "unsupported URI", ErrUnsupported, fmt.Sprintf("scheme %q is not supported; use %s", raw, supported)}
}

// splitScheme splits "scheme:rest". ok is false when uri has no scheme (a
// relative path such as "data/x").
func splitScheme(uri string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(uri, ':')
	if i <= 0 {
		return "", "", false
	}
	for j, c := range uri[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", "", false
		}
	}
	return uri[:i], uri[i+1:], true
}

func parseS3(uri, raw, rest string) (URI, *uriError) {
	scheme := strings.ToLower(raw)
	label := scheme + " URI"
	example := scheme + "://bucket/key"
	after, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return URI{}, &uriError{uri, label, ErrInvalidURI, "write " + example}
	}
	bucket, key, _ := strings.Cut(after, "/")
	if bucket == "" {
		return URI{}, &uriError{uri, label, ErrInvalidURI, "bucket name missing; write " + example}
	}
	if !validBucket(bucket) {
		return URI{}, &uriError{uri, label, ErrInvalidURI, fmt.Sprintf("bucket name %q is not valid: use letters, digits, '.', '-' and '_'", bucket)}
	}
	return URI{Scheme: "s3", Raw: raw, Bucket: bucket, Key: key}, nil
}

// validBucket accepts what S3 and the stores compatible with it accept,
// including the upper case and "_" of legacy us-east-1 buckets; the store
// itself has the final word.
func validBucket(b string) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func parseFile(uri, raw, rest string) (URI, *uriError) {
	const label = "file URI"
	var path string
	switch {
	case strings.HasPrefix(rest, "///"):
		path = rest[2:]
	case strings.HasPrefix(rest, "//"):
		host, p, _ := strings.Cut(rest[2:], "/")
		switch host {
		case "localhost":
			path = "/" + p
		case "":
			return URI{}, &uriError{uri, label, ErrInvalidURI, "path missing; write file:///absolute/path"}
		default:
			// file://tmp/x is a common slip for file:///tmp/x.
			return URI{}, &uriError{uri, label, ErrInvalidURI, fmt.Sprintf("host %q is not supported, file URIs name local paths; write file:///%s", host, strings.TrimPrefix(rest, "//"))}
		}
	case strings.HasPrefix(rest, "/"):
		path = rest // file:/tmp/x, the form Java and Hadoop print
	default:
		return URI{}, &uriError{uri, label, ErrUnsupported, "a relative path is not supported; write file:///absolute/path"}
	}
	return URI{Scheme: "file", Raw: raw, Path: cleanPath(path)}, nil
}

// cleanPath cleans p but keeps a trailing "/", which matters to List.
func cleanPath(p string) string {
	c := filepath.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func parseHTTP(uri, raw string) (URI, *uriError) {
	label := strings.ToLower(raw) + " URI"
	pu, err := url.Parse(uri)
	if err != nil {
		return URI{}, &uriError{redactURL(uri), label, ErrInvalidURI, strings.TrimPrefix(err.Error(), "parse ")}
	}
	if pu.Host == "" {
		return URI{}, &uriError{redactURL(uri), label, ErrInvalidURI, "host missing; write " + strings.ToLower(raw) + "://host/path"}
	}
	return URI{Scheme: strings.ToLower(raw), Raw: raw, Host: pu.Host, Path: pu.RequestURI()}, nil
}

// redactURL returns an http(s) URL fit for an error message: without a
// password, and with "?…" for a query, which may carry a presigned URL's
// signature.
func redactURL(uri string) string {
	if !strings.ContainsAny(uri, "?@#") {
		return uri
	}
	pu, err := url.Parse(uri)
	if err != nil {
		if i := strings.IndexAny(uri, "?@"); i >= 0 {
			return uri[:i] + "…"
		}
		return uri
	}
	pu.User = nil
	pu.Fragment = ""
	if pu.RawQuery != "" {
		pu.RawQuery = ""
		return pu.String() + "?…"
	}
	return pu.String()
}

// IsS3 reports whether uri has an S3 scheme (s3://, s3a:// or s3n://,
// any case). It does not check the rest; Parse does.
func IsS3(uri string) bool {
	scheme, _, ok := splitScheme(uri)
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "s3", "s3a", "s3n":
		return true
	}
	return false
}

// Join appends path elements to a URI or absolute path with exactly one "/"
// between them: Join("s3://b/logs/", "/j-1", "stdout") is
// "s3://b/logs/j-1/stdout". The result ends with "/" when the last element
// does, so Join(base, "logs/") is a prefix for List. The "//" after a
// scheme is never touched. Use Join, not filepath.Join, on URIs.
func Join(base string, elem ...string) string {
	var parts []string
	for _, e := range elem {
		if t := strings.Trim(e, "/"); t != "" {
			parts = append(parts, t)
		}
	}
	if len(parts) == 0 {
		return base
	}
	head, rest := "", base
	if i := strings.Index(base, "://"); i >= 0 {
		head, rest = base[:i+3], base[i+3:]
	}
	s := strings.TrimRight(rest, "/")
	if s != "" || rest != "" { // rest == "/" is the root: keep it
		s += "/"
	}
	s += strings.Join(parts, "/")
	if strings.HasSuffix(elem[len(elem)-1], "/") {
		s += "/"
	}
	return head + s
}
