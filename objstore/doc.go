// Package objstore reads and writes objects by URI: every file, log or
// artefact Hearth reads or writes goes through a Store.
//
// New returns a Store that routes each URI by its scheme:
//
//   - an absolute path or file:// URI: a local file;
//   - http:// or https://: read only (Get and Stat);
//   - s3://, s3a:// or s3n://: the S3 API, against Amazon S3 or an
//     S3-compatible store such as Hearth's built-in one. s3a and s3n are
//     the Hadoop names EMR users write; all three mean the same object.
//
// URIs are taken literally: a key or path is not percent-decoded, so
// "s3://b/a%20b" names the key "a%20b", as the aws CLI reads it.
//
// Every error a Store returns is an *Error naming the operation and the
// URI, and wraps ErrNotFound, ErrDenied or ErrUnsupported where one
// applies. Package objstoretest is the conformance suite every backend
// passes.
package objstore
