package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
)

// StagingBucket holds copies of the user's local files that steps and
// bootstrap actions of clusters on other machines name.
const StagingBucket = "hearth-staging"

// stageFile copies the local file a field names into the object store,
// under the cluster's prefix, and returns its s3:// URI: nodes that do not
// share this machine's disk fetch it from there. A missing file is refused
// naming the field.
func (s *Server) stageFile(ctx context.Context, c *hearth.Cluster, field, value string) (string, error) {
	path := strings.TrimPrefix(value, "file://")
	f, err := os.Open(path)
	if err != nil {
		return "", hearth.Invalid(field, value, "no such file on the Hearth server's host; give an existing path (absolute, or file://...) or an s3:// URI")
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", hearth.Invalid(field, value, "not a regular file")
	}
	if s.cfg.S3 == nil {
		return "", hearth.Invalid(field, value, "a local file for a cluster on other machines is copied to the object store, and this server has none (started with --s3-listen none); give an http(s):// URL")
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	a := s.cfg.S3
	if err := objstore.MakeBucket(ctx, objstore.S3Config{Endpoint: a.Endpoint, Region: a.Region, AccessKeyID: a.AccessKeyId,
		SecretAccessKey: a.SecretAccessKey, PathStyle: a.Endpoint != ""}, StagingBucket); err != nil {
		return "", fmt.Errorf("stage %s: %w", field, err)
	}
	uri := fmt.Sprintf("s3://%s/%s/%s/%s", StagingBucket, c.Id, hex.EncodeToString(sum.Sum(nil))[:16], filepath.Base(path))
	if err := s.objects.Put(ctx, uri, f); err != nil {
		return "", fmt.Errorf("stage %s: %w", field, err)
	}
	s.log.Info("staged a local file", "cluster", c.Id, "field", field, "file", path, "uri", uri)
	return uri, nil
}

// stageStepFiles stages the local files step st names: its custom jar, the
// script of script-runner.jar, spark-submit's application, and file://
// arguments.
func (s *Server) stageStepFiles(ctx context.Context, c *hearth.Cluster, st *hearth.Step, i int) error {
	for _, j := range localFileArgs(st) {
		uri, err := s.stageFile(ctx, c, fmt.Sprintf("steps[%d].HadoopJarStep.Args[%d]", i, j), st.Config.Args[j])
		if err != nil {
			return err
		}
		st.Config.Args[j] = uri
	}
	if j := st.Config.Jar; !hearth.IsCommandRunner(j) && !hearth.IsScriptRunner(j) && !strings.Contains(strings.TrimPrefix(j, "file://"), "://") {
		uri, err := s.stageFile(ctx, c, fmt.Sprintf("steps[%d].HadoopJarStep.Jar", i), j)
		if err != nil {
			return err
		}
		st.Config.Jar = uri
	}
	return nil
}

// stageBootstrapScripts stages bootstrap actions' local scripts.
func (s *Server) stageBootstrapScripts(ctx context.Context, c *hearth.Cluster) error {
	for i := range c.BootstrapActions {
		p := &c.BootstrapActions[i].ScriptBootstrapAction.Path
		if strings.Contains(strings.TrimPrefix(*p, "file://"), "://") || !(filepath.IsAbs(*p) || strings.HasPrefix(*p, "file://")) {
			continue
		}
		uri, err := s.stageFile(ctx, c, fmt.Sprintf("bootstrap-actions[%d].Path", i), *p)
		if err != nil {
			return err
		}
		*p = uri
	}
	return nil
}
