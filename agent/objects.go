package agent

import (
	"context"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
)

// fetchTimeout bounds fetching one step file or bootstrap script.
const fetchTimeout = 10 * time.Minute

// fetchTo brings uri (s3://, file://, http(s):// or an absolute path)
// into dir under its base name and returns the local path.
func fetchTo(s *hearth.S3Access, uri, dir string) (string, error) {
	name := path.Base(strings.SplitN(uri, "?", 2)[0])
	if name == "" || name == "/" || name == "." {
		name = "file"
	}
	dst := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	if err := objstore.Download(ctx, objstore.ForAccess(s), uri, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// s3Env is what processes on a node (steps, bootstrap actions) get so that
// boto3, the aws CLI and the AWS SDKs reach the cluster's store with no
// configuration, the way an EMR instance profile works. The key works on
// the store only.
func s3Env(s *hearth.S3Access) []string {
	if s == nil {
		return nil
	}
	env := []string{"AWS_DEFAULT_REGION=" + s.Region, "AWS_REGION=" + s.Region}
	if s.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+s.Endpoint, "AWS_ENDPOINT_URL_S3="+s.Endpoint)
	}
	if s.AccessKeyId != "" {
		env = append(env, "AWS_ACCESS_KEY_ID="+s.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+s.SecretAccessKey)
	}
	return env
}
