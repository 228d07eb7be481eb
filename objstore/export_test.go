package objstore

// NewWithListPageSize is New with ListObjectsV2 pages of n keys, so that a
// test with a few keys crosses page boundaries.
func NewWithListPageSize(cfg S3Config, n int32) Store {
	r := New(cfg).(*router)
	r.s3.(*s3Store).pageSize = n
	return r
}
