package objstore

import (
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkError builds the error the SDK returns for an S3 error response: an
// operation error around a response error around the API error.
func sdkError(status int, code, message string) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: "PutObject",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      &smithy.GenericAPIError{Code: code, Message: message},
			},
			RequestID: "req-1",
		},
	}
}

// TestS3ErrorKinds checks how S3's error codes become kinds and messages.
// gofakes3 cannot produce the denied cases (it checks no signatures), so
// these are built as the SDK builds them.
func TestS3ErrorKinds(t *testing.T) {
	builtIn := &s3Store{cfg: S3Config{Endpoint: "http://127.0.0.1:8442"}, region: "us-east-1"}
	aws := &s3Store{region: "eu-west-1"}
	u := URI{Scheme: "s3", Raw: "s3", Bucket: "b", Key: "k"}
	tests := []struct {
		name  string
		store *s3Store
		err   error
		kind  error
		msg   string
	}{
		{"AccessDenied", builtIn, sdkError(403, "AccessDenied", "Access Denied"), ErrDenied,
			"put s3://b/k: access denied: check the access key (hearth s3 env prints the built-in store's)"},
		{"AccessDenied on AWS", aws, sdkError(403, "AccessDenied", "Access Denied"), ErrDenied,
			"put s3://b/k: access denied: check your AWS credentials and the bucket's policy"},
		{"InvalidAccessKeyId", builtIn, sdkError(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist"), ErrDenied,
			"put s3://b/k: access denied (the store does not know this access key): check the access key (hearth s3 env prints the built-in store's)"},
		{"SignatureDoesNotMatch", builtIn, sdkError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"), ErrDenied,
			"put s3://b/k: access denied (the secret key does not match the access key): check the access key (hearth s3 env prints the built-in store's)"},
		{"403 without a body", builtIn, sdkError(403, "Forbidden", "Forbidden"), ErrDenied,
			"put s3://b/k: access denied: check the access key (hearth s3 env prints the built-in store's)"},
		{"NoSuchKey", builtIn, sdkError(404, "NoSuchKey", "The specified key does not exist."), ErrNotFound,
			"put s3://b/k: no such key (the bucket exists, the object does not)"},
		{"NoSuchBucket", builtIn, sdkError(404, "NoSuchBucket", "The specified bucket does not exist"), ErrNotFound,
			`put s3://b/k: no such bucket "b"`},
		{"404 without a body", builtIn, sdkError(404, "NotFound", "Not Found"), ErrNotFound,
			"put s3://b/k: not found"},
		{"wrong region", aws, sdkError(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint."), nil,
			`put s3://b/k: bucket "b" is not in region "eu-west-1": set the S3 region to the bucket's`},
		{"other", builtIn, sdkError(500, "InternalError", "We encountered an internal error."), nil,
			"put s3://b/k: InternalError: We encountered an internal error. (HTTP 500)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.store.apiError("put", "s3://b/k", u, tc.err)
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want an error wrapping %v", err, tc.kind)
			}
			for _, other := range []error{ErrNotFound, ErrDenied, ErrUnsupported, ErrInvalidURI} {
				if other != tc.kind && errors.Is(err, other) {
					t.Errorf("%v also wraps %v", err, other)
				}
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Errorf("%v does not keep the SDK's error", err)
			}
			if err.Error() != tc.msg {
				t.Errorf("got %q, want %q", err, tc.msg)
			}
		})
	}
}
