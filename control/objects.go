package control

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/objstore"
)

// objectCheckTimeout bounds the look the API takes at an s3:// object a
// request names; a store that does not answer in time is not a reason to
// refuse (the step fails later, naming the URI, if it is really gone).
const objectCheckTimeout = 10 * time.Second

// programSchemes are the URI schemes a step's program may have.
var programSchemes = []string{"s3", "s3a", "s3n", "file", "http", "https", "local"}

// checkObject refuses, naming field, an s3:// URI whose object is missing
// or which the cluster's key may not read: better at add-steps or
// create-cluster than as a failed step or bootstrap action later.
func (s *Server) checkObject(ctx context.Context, field, uri string) error {
	if scheme, _, ok := strings.Cut(uri, "://"); ok && !slices.Contains(programSchemes, scheme) {
		return hearth.Invalid(field, uri, "Hearth fetches programs from s3://, s3a://, s3n://, file://, http(s)://, local:// (on the node) or an absolute path")
	}
	if _, _, ok := hearth.CutS3(uri); !ok {
		return nil
	}
	if s.cfg.S3 == nil {
		return hearth.Invalid(field, uri, "this server has no object store (started with --s3-listen none); use a path or http(s)://")
	}
	ctx, cancel := context.WithTimeout(ctx, objectCheckTimeout)
	defer cancel()
	_, err := s.objects.Stat(ctx, uri)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, objstore.ErrNotFound), errors.Is(err, objstore.ErrDenied):
		return hearth.Invalid(field, uri, fmt.Sprintf("%v; upload it first (aws s3 cp FILE %s)", err, uri))
	}
	s.log.Warn("cannot check an object now; the node will try", "uri", uri, "err", err)
	return nil
}

// copyStepLogs copies an ended step's logs to the cluster's log URI,
// <log-uri>/<cluster-id>/steps/<step-id>/<stream>, when it has one. On
// s3:// they are gzipped (<stream>.gz), as EMR writes them.
func (s *Server) copyStepLogs(ctx context.Context, clusterID, stepID string) {
	c, err := s.store.Cluster(ctx, clusterID)
	if err != nil || c.LogUri == "" {
		return
	}
	_, _, s3 := hearth.CutS3(c.LogUri)
	for _, stream := range hearth.LogStreams {
		b, err := s.stepLogs.read(ctx, clusterID, stepID, stream, 0, hearth.MaxLogOffset)
		if err != nil {
			s.log.Warn("copy step logs", "step", stepID, "err", err)
			continue
		}
		uri := stepLogURI(c.LogUri, clusterID, stepID, stream)
		if s3 {
			if b, err = gzipped(b); err != nil {
				s.log.Warn("copy step logs", "step", stepID, "err", err)
				continue
			}
		}
		put, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err = s.objects.Put(put, uri, bytes.NewReader(b))
		cancel()
		if err != nil {
			s.log.Warn("copy step logs", "step", stepID, "err", err)
		}
	}
}

// stepLogURI is where a step's log stream is copied under a log URI:
// <log-uri>/<cluster-id>/steps/<step-id>/<stream>, gzipped (.gz) on s3://.
func stepLogURI(logURI, clusterID, stepID, stream string) string {
	uri := objstore.Join(logURI, clusterID, "steps", stepID, stream)
	if _, _, s3 := hearth.CutS3(logURI); s3 {
		uri += ".gz"
	}
	return uri
}

func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
