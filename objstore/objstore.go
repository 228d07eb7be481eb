package objstore

import (
	"context"
	"io"
	"os"
	"strings"
	"time"
)

// Object describes one stored object.
type Object struct {
	URI     string // full URI, same scheme as asked
	Size    int64  // bytes; -1 when an http server does not say
	ModTime time.Time
}

// Store reads and writes objects by URI. Every error is an *Error naming the
// operation and the URI.
type Store interface {
	// Get opens the object for reading; the caller closes it. A missing
	// object is ErrNotFound.
	Get(ctx context.Context, uri string) (io.ReadCloser, error)
	// Put stores everything r yields as the object, replacing any old one.
	// It streams; r's length need not be known. Readers see the old object
	// or the new one, never part of it.
	Put(ctx context.Context, uri string, r io.Reader) error
	// Stat describes the object. A missing object is ErrNotFound.
	Stat(ctx context.Context, uri string) (Object, error)
	// List returns every object whose URI starts with prefix (recursive, like
	// `aws s3 ls --recursive`), sorted by URI. A prefix "s3://b/logs/" lists
	// keys under logs/; "s3://b/logs" would also list "logs.txt". No match
	// is an empty list, not an error.
	List(ctx context.Context, prefix string) ([]Object, error)
}

// S3Config points the s3 backend at a store.
type S3Config struct {
	Endpoint        string // "" = AWS's own; e.g. http://127.0.0.1:8442 for Hearth's built-in store
	Region          string // default us-east-1
	AccessKeyID     string
	SecretAccessKey string
	PathStyle       bool // true for a custom Endpoint
	// Off, when set, refuses every s3:// URI with this reason: no store is
	// configured, and the AWS default chain must not be tried instead.
	Off string
}

// backend is one scheme's implementation. Its methods get the URI both as
// written, for errors and results, and parsed.
type backend interface {
	get(ctx context.Context, uri string, u URI) (io.ReadCloser, error)
	put(ctx context.Context, uri string, u URI, r io.Reader) error
	stat(ctx context.Context, uri string, u URI) (Object, error)
	list(ctx context.Context, prefix string, u URI) ([]Object, error)
}

// New returns a Store that routes each URI by its scheme:
//
//   - plain absolute paths and file:// -> local files. Put creates parent
//     directories (0755) and writes a temporary file in the same directory,
//     then renames it to the object (0644).
//   - http:// https:// -> read only: Get, and Stat via HEAD (or GET where
//     HEAD is refused). Put and List return ErrUnsupported.
//   - s3:// s3a:// s3n:// -> the S3 API; bucket = host, key = the path
//     without its leading slash.
//
// S3 is configured on first use: a Store for local files never needs
// credentials. With neither Endpoint nor AccessKeyID set, s3 uses the AWS
// default credential chain (environment, ~/.aws, instance role).
func New(s3 S3Config) Store {
	return &router{
		file:  fileStore{},
		http:  newHTTPStore(),
		s3:    newS3Store(s3),
		s3Off: s3.Off,
	}
}

type router struct {
	file  backend
	http  backend
	s3    backend
	s3Off string
}

var _ Store = (*router)(nil)

// route parses uri and picks its backend. object is true for the operations
// on one object, which need a key or file name, not a prefix.
func (r *router) route(op, uri string, object bool) (backend, URI, error) {
	u, perr := parse(uri)
	if perr != nil {
		// perr.uri is uri, with an http(s) URI's secrets elided.
		return nil, URI{}, &Error{Op: op, URI: perr.uri, Kind: perr.kind, Msg: perr.msg}
	}
	switch u.Scheme {
	case "s3":
		if r.s3Off != "" {
			return nil, u, &Error{Op: op, URI: uri, Kind: ErrUnsupported, Msg: r.s3Off}
		}
		if object && (u.Key == "" || strings.HasSuffix(u.Key, "/")) {
			return nil, u, &Error{Op: op, URI: uri, Kind: ErrInvalidURI,
				Msg: "key missing, the URI names a bucket or a prefix; write " + strings.ToLower(u.Raw) + "://" + u.Bucket + "/key"}
		}
		return r.s3, u, nil
	case "file":
		if object && strings.HasSuffix(u.Path, "/") {
			return nil, u, &Error{Op: op, URI: uri, Kind: ErrInvalidURI, Msg: "the path ends with \"/\", it names a directory, not a file"}
		}
		return r.file, u, nil
	default:
		return r.http, u, nil
	}
}

func (r *router) Get(ctx context.Context, uri string) (io.ReadCloser, error) {
	b, u, err := r.route("get", uri, true)
	if err != nil {
		return nil, err
	}
	return b.get(ctx, uri, u)
}

func (r *router) Put(ctx context.Context, uri string, rd io.Reader) error {
	b, u, err := r.route("put", uri, true)
	if err != nil {
		return err
	}
	src := &source{r: rd}
	var body io.Reader = src
	if sk, ok := rd.(io.Seeker); ok {
		// The S3 transfer manager sizes its parts to a body it can seek.
		body = seekableSource{src, sk}
	}
	err = b.put(ctx, uri, u, body)
	if err != nil && src.err != nil {
		// The backend's message would blame the store for the reader's fault.
		return &Error{Op: "put", URI: uri, Msg: "read the data to store: " + src.err.Error(), Err: src.err}
	}
	return err
}

// source remembers the error its reader returned.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

type seekableSource struct {
	*source
	sk io.Seeker
}

func (s seekableSource) Seek(offset int64, whence int) (int64, error) {
	return s.sk.Seek(offset, whence)
}

func (r *router) Stat(ctx context.Context, uri string) (Object, error) {
	b, u, err := r.route("stat", uri, true)
	if err != nil {
		return Object{}, err
	}
	return b.stat(ctx, uri, u)
}

func (r *router) List(ctx context.Context, prefix string) ([]Object, error) {
	b, u, err := r.route("list", prefix, false)
	if err != nil {
		return nil, err
	}
	return b.list(ctx, prefix, u)
}

// Download copies the object at uri to the local file dst, creating dst's
// parent directories. dst appears whole or not at all (a temporary file in
// its directory is renamed to it) with mode 0644.
func Download(ctx context.Context, s Store, uri, dst string) error {
	rc, err := s.Get(ctx, uri)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := writeFileAtomic(dst, rc); err != nil {
		return fileError("download", dst, err)
	}
	return nil
}

// Upload copies the local file src to the object at uri.
func Upload(ctx context.Context, s Store, src, uri string) error {
	f, err := os.Open(src)
	if err != nil {
		return fileError("upload", src, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileError("upload", src, err)
	}
	if fi.IsDir() {
		return &Error{Op: "upload", URI: src, Msg: "is a directory; upload its files one by one"}
	}
	return s.Put(ctx, uri, f)
}
