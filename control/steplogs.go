package control

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/hearthcluster/hearth"
)

// stepLogs keeps the step logs agents ship: files under Config.LogDir on a
// server of its own, the store when replicas share it (an agent may ship
// to one replica while a user follows the log on another).
type stepLogs interface {
	// append stores data at offset and returns the stream's size and
	// whether it grew, as hearth.ReplicatedStore.AppendStepLog does.
	append(ctx context.Context, clusterID, stepID, stream string, offset int64, data []byte) (size int64, grew bool, err error)
	// read returns up to limit bytes from offset.
	read(ctx context.Context, clusterID, stepID, stream string, offset, limit int64) ([]byte, error)
	// where names the stream for a step's FailureDetails.
	where(clusterID, stepID, stream string) string
}

// logFiles keeps step logs in dir/<cluster>/steps/<step>/<stream>.
type logFiles struct{ dir string }

func (l logFiles) where(clusterID, stepID, stream string) string {
	return filepath.Join(l.dir, clusterID, "steps", stepID, stream)
}

func (l logFiles) append(_ context.Context, clusterID, stepID, stream string, offset int64, data []byte) (int64, bool, error) {
	path := l.where(clusterID, stepID, stream)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, false, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	size := info.Size()
	rest := hearth.Unheld(size, offset, data)
	if rest == nil {
		return size, false, nil
	}
	if _, err := f.WriteAt(rest, size); err != nil {
		return size, false, err
	}
	return size + int64(len(rest)), true, nil
}

func (l logFiles) read(_ context.Context, clusterID, stepID, stream string, offset, limit int64) ([]byte, error) {
	f, err := os.Open(l.where(clusterID, stepID, stream))
	if errors.Is(err, os.ErrNotExist) {
		return []byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(io.NewSectionReader(f, offset, limit), limit))
}

// logTable keeps step logs in a replicated store.
type logTable struct{ store hearth.ReplicatedStore }

func (l logTable) where(clusterID, stepID, stream string) string {
	return "hearth logs --cluster-id " + clusterID + " --step-id " + stepID + " --log-type " + stream
}

func (l logTable) append(ctx context.Context, clusterID, stepID, stream string, offset int64, data []byte) (int64, bool, error) {
	return l.store.AppendStepLog(ctx, clusterID, stepID, stream, offset, data)
}

func (l logTable) read(ctx context.Context, clusterID, stepID, stream string, offset, limit int64) ([]byte, error) {
	return l.store.ReadStepLog(ctx, clusterID, stepID, stream, offset, limit)
}
