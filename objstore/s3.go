package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// s3HeaderTimeout bounds the wait for an S3 answer once a request is sent.
// It is generous because some stores assemble a multipart upload's parts
// before answering CompleteMultipartUpload, and that takes a while for a
// large object.
const s3HeaderTimeout = 10 * time.Minute

const (
	msgNoSuchKey      = "no such key (the bucket exists, the object does not)"
	hintBuiltInAccess = "check the access key (hearth s3 env prints the built-in store's)"
	hintAWSAccess     = "check your AWS credentials and the bucket's policy"
)

// s3Store talks to Amazon S3 or an S3-compatible store.
type s3Store struct {
	cfg      S3Config
	pageSize int32 // keys per ListObjectsV2 page; 0 = the store's default (1000)

	mu     sync.Mutex // guards the clients, made on first use
	client *s3.Client
	tm     *transfermanager.Client
	region string // as resolved, for messages
}

var _ backend = (*s3Store)(nil)

func newS3Store(cfg S3Config) *s3Store {
	return &s3Store{cfg: cfg}
}

// clients returns the S3 and transfer clients, making them on first use. A
// failure is not remembered: the next call tries again, in case the
// credentials have appeared (an instance role, a refreshed profile).
func (s *s3Store) clients(ctx context.Context, op, uri string) (*s3.Client, *transfermanager.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, s.tm, nil
	}
	cfg, e := s.awsConfig(ctx)
	if e != nil {
		e.Op, e.URI = op, uri
		return nil, nil, e
	}
	c := s.cfg
	s.region = cfg.Region
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
	})
	s.tm = transfermanager.New(s.client, func(o *transfermanager.Options) {
		// The transfer manager has its own checksum setting, which wins over
		// the client's and defaults to CRC32 on every upload.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// Abort a failed multipart upload even when ctx is what failed.
		o.FailTimeout = 30 * time.Second
	})
	return s.client, s.tm, nil
}

// awsConfig builds the SDK configuration. Its error has no Op or URI yet.
func (s *s3Store) awsConfig(ctx context.Context) (aws.Config, *Error) {
	c := s.cfg
	if c.Endpoint != "" {
		eu, err := url.Parse(c.Endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return aws.Config{}, &Error{Msg: fmt.Sprintf("S3 endpoint %q is not an http:// or https:// URL such as http://127.0.0.1:8442", c.Endpoint)}
		}
	}
	if c.AccessKeyID == "" && c.SecretAccessKey != "" {
		return aws.Config{}, &Error{Kind: ErrDenied, Msg: "S3 access key ID missing (a secret access key is set): set both"}
	}
	if c.AccessKeyID != "" && c.SecretAccessKey == "" {
		return aws.Config{}, &Error{Kind: ErrDenied, Msg: "S3 secret access key missing (an access key ID is set): set both"}
	}
	if c.AccessKeyID == "" && c.Endpoint != "" {
		return aws.Config{}, &Error{Kind: ErrDenied, Msg: fmt.Sprintf("no S3 credentials configured for %s: set its access key ID and secret access key (hearth s3 env prints the built-in store's)", c.Endpoint)}
	}

	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = tlsTimeout
			t.ResponseHeaderTimeout = s3HeaderTimeout
		})

	var cfg aws.Config
	if c.AccessKeyID != "" {
		// Not LoadDefaultConfig: the environment and ~/.aws must not change
		// where an explicitly configured store's requests go.
		cfg = aws.Config{
			Region:      c.Region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")),
			HTTPClient:  httpClient,
		}
	} else {
		opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
		if c.Region != "" {
			opts = append(opts, config.WithRegion(c.Region))
		}
		var err error
		cfg, err = config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return aws.Config{}, &Error{Msg: "load the AWS configuration (~/.aws, AWS_* variables): " + err.Error(), Err: err}
		}
		// Ask now, so that a machine without credentials gets this message
		// rather than a signing failure.
		if cfg.Credentials == nil {
			return aws.Config{}, &Error{Kind: ErrDenied, Msg: "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"}
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return aws.Config{}, &Error{Kind: ErrDenied, Msg: "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (" + err.Error() + ")", Err: err}
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	// S3-compatible stores that predate the SDK's CRC checksum trailers
	// reject or mangle requests that carry them.
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	return cfg, nil
}

func (s *s3Store) get(ctx context.Context, uri string, u URI) (io.ReadCloser, error) {
	client, _, err := s.clients(ctx, "get", uri)
	if err != nil {
		return nil, err
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if err != nil {
		return nil, s.apiError("get", uri, u, err)
	}
	return out.Body, nil
}

// put uploads through the transfer manager: one PutObject below 16 MiB, a
// multipart upload of 8 MiB parts above. A reader of unknown length is
// buffered a part at a time, so it can be at most 10,000 parts (78 GiB);
// one that can Seek is sized first and has no such limit.
func (s *s3Store) put(ctx context.Context, uri string, u URI, r io.Reader) error {
	_, tm, err := s.clients(ctx, "put", uri)
	if err != nil {
		return err
	}
	_, err = tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), Body: r})
	if err != nil {
		return s.apiError("put", uri, u, err)
	}
	return nil
}

func (s *s3Store) stat(ctx context.Context, uri string, u URI) (Object, error) {
	client, _, err := s.clients(ctx, "stat", uri)
	if err != nil {
		return Object{}, err
	}
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
	if err != nil {
		e := s.apiError("stat", uri, u, err)
		if _, status := errorCode(err); status == http.StatusNotFound {
			// A HEAD answer has no body, so its 404 does not say whether
			// the bucket or the key is missing. Ask about the bucket.
			e.Msg = msgNoSuchKey
			_, berr := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(u.Bucket)})
			if _, bstatus := errorCode(berr); berr != nil && bstatus == http.StatusNotFound {
				e.Msg = fmt.Sprintf("no such bucket %q", u.Bucket)
			}
		}
		return Object{}, e
	}
	return Object{URI: uri, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

func (s *s3Store) list(ctx context.Context, prefix string, u URI) ([]Object, error) {
	client, _, err := s.clients(ctx, "list", prefix)
	if err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Key)}
	if s.pageSize > 0 {
		in.MaxKeys = aws.Int32(s.pageSize)
	}
	var objs []Object
	for p := s3.NewListObjectsV2Paginator(client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.apiError("list", prefix, u, err)
		}
		for _, o := range page.Contents {
			objs = append(objs, Object{
				URI:     u.Raw + "://" + u.Bucket + "/" + aws.ToString(o.Key),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
			})
		}
	}
	// S3 sorts by key already; not every compatible store does.
	sort.Slice(objs, func(i, j int) bool { return objs[i].URI < objs[j].URI })
	return objs, nil
}

// errorCode returns the S3 error code ("NoSuchKey") and HTTP status of an
// SDK error, where it has them.
func errorCode(err error) (code string, status int) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

// apiError turns an SDK error into an *Error a user can act on.
func (s *s3Store) apiError(op, uri string, u URI, err error) *Error {
	e := &Error{Op: op, URI: uri, Err: err, Msg: err.Error()}
	hint := hintAWSAccess
	if s.cfg.Endpoint != "" {
		hint = hintBuiltInAccess
	}
	code, status := errorCode(err)
	var apiErr smithy.APIError
	var opErr *net.OpError
	switch {
	case code == "NoSuchKey":
		e.Kind, e.Msg = ErrNotFound, msgNoSuchKey
	case code == "NoSuchBucket":
		e.Kind, e.Msg = ErrNotFound, fmt.Sprintf("no such bucket %q", u.Bucket)
	case code == "InvalidAccessKeyId":
		e.Kind, e.Msg = ErrDenied, "access denied (the store does not know this access key): "+hint
	case code == "SignatureDoesNotMatch":
		e.Kind, e.Msg = ErrDenied, "access denied (the secret key does not match the access key): "+hint
	case code == "AccessDenied" || status == http.StatusForbidden:
		e.Kind, e.Msg = ErrDenied, "access denied: "+hint
	case code == "PermanentRedirect" || status == http.StatusMovedPermanently:
		e.Msg = fmt.Sprintf("bucket %q is not in region %q: set the S3 region to the bucket's", u.Bucket, s.region)
	case status == http.StatusNotFound:
		e.Kind, e.Msg = ErrNotFound, "not found"
	case errors.Is(err, context.Canceled):
		e.Msg = context.Canceled.Error()
	case errors.Is(err, context.DeadlineExceeded):
		e.Msg = context.DeadlineExceeded.Error()
	case errors.As(err, &apiErr):
		e.Msg = fmt.Sprintf("%s: %s (HTTP %d)", apiErr.ErrorCode(), apiErr.ErrorMessage(), status)
	case errors.As(err, &opErr):
		where := "Amazon S3"
		if s.cfg.Endpoint != "" {
			where = "the S3 endpoint " + s.cfg.Endpoint
		}
		e.Msg = fmt.Sprintf("cannot reach %s: %v", where, opErr)
	}
	return e
}

// MakeBucket creates an S3 bucket unless the key's owner has it already.
func MakeBucket(ctx context.Context, cfg S3Config, bucket string) error {
	s := newS3Store(cfg)
	uri := "s3://" + bucket + "/"
	client, _, err := s.clients(ctx, "make bucket", uri)
	if err != nil {
		return err
	}
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if code, _ := errorCode(err); err == nil || code == "BucketAlreadyOwnedByYou" {
		return nil
	}
	return s.apiError("make bucket", uri, URI{Scheme: "s3", Bucket: bucket}, err)
}
