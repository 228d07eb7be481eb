package objstore

import "errors"

// Sentinel error kinds. A Store's errors wrap one of them where it applies,
// so callers can choose an HTTP status or exit code with errors.Is.
var (
	// ErrNotFound: the object, bucket or file does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDenied: the store refused the credentials or the access.
	ErrDenied = errors.New("access denied")
	// ErrUnsupported: the URI's scheme is not one objstore speaks, or the
	// backend cannot do the operation (writing over http).
	ErrUnsupported = errors.New("unsupported")
	// ErrInvalidURI: the URI is malformed (no bucket, a file:// URI with a
	// host, ...).
	ErrInvalidURI = errors.New("invalid URI")
)

// Error is the error every Store operation returns. It reads
// "<op> <uri>: <msg>", e.g.
// `get s3://b/k: no such key (the bucket exists, the object does not)`,
// and wraps Kind and the underlying cause.
type Error struct {
	Op   string // "get", "put", "stat", "list", "download", "upload"
	URI  string // as the caller wrote it (http credentials and queries elided)
	Kind error  // ErrNotFound, ErrDenied, ErrUnsupported, ErrInvalidURI or nil
	Msg  string // what went wrong, and what to do about it
	Err  error  // the cause from the OS, the SDK or net/http; may be nil
}

func (e *Error) Error() string {
	return e.Op + " " + e.URI + ": " + e.Msg
}

// Unwrap returns Kind and Err, so errors.Is works for both the sentinel and
// the cause (os.ErrNotExist, context.Canceled, ...).
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
