package objstore

import "github.com/hearthcluster/hearth"

// ForAccess is the Store that reaches s3:// URIs with a cluster's store
// access (nil: none; s3:// then fails, saying so), and every other scheme
// as New does.
func ForAccess(a *hearth.S3Access) Store {
	if a == nil {
		return New(S3Config{Off: "no S3 store is configured (the server was started with --s3-listen none)"})
	}
	return New(S3Config{Endpoint: a.Endpoint, Region: a.Region, AccessKeyID: a.AccessKeyId,
		SecretAccessKey: a.SecretAccessKey, PathStyle: a.Endpoint != ""})
}
