// Package s3store is Hearth's built-in S3-compatible object store: the
// versitygw gateway (Apache-2.0) over a POSIX directory, so objects are
// plain files under $HEARTH_HOME/s3/buckets/<bucket>/<key>.
//
// The gateway changes its process's working directory, so it never runs
// inside the control plane: `hearth server` starts it as a child process
// (`hearth s3-server`, see Process) and hands it the accounts it accepts
// over the child's stdin, never on a command line or in a file.
package s3store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
)

// Account is one access key pair the store accepts. Every account may use
// every bucket: Hearth's access keys are all administrators, and so is the
// key clusters are given (like an EMR instance profile with S3 full access).
type Account struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// Accounts is what the control plane sends the store, one JSON document per
// line: the whole set every time (a later line replaces the earlier).
type Accounts struct {
	// Root is the store's own root account (the first line must have it;
	// later lines cannot change it).
	Root     Account   `json:"Root"`
	Accounts []Account `json:"Accounts"`
}

// Config is where the store keeps its data and where it listens.
type Config struct {
	Dir    string // buckets under Dir/buckets, object metadata under Dir/meta
	Listen string // host:port
	Region string // requests must be signed for this region
}

// Serve runs the store in this process until ctx ends or accounts is
// closed (the control plane is gone). It chdirs into the data directory:
// call it only from its own process.
func Serve(ctx context.Context, cfg Config, accounts io.Reader) error {
	in := bufio.NewScanner(accounts)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	if !in.Scan() {
		return fmt.Errorf("s3 store: no accounts on stdin: %v", in.Err())
	}
	var first Accounts
	if err := json.Unmarshal(in.Bytes(), &first); err != nil || first.Root.AccessKeyID == "" || first.Root.SecretAccessKey == "" {
		return fmt.Errorf("s3 store: the first line on stdin must name the root account (%v)", err)
	}
	iam := &iamService{}
	iam.set(first.Accounts)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for in.Scan() {
			var next Accounts
			if err := json.Unmarshal(in.Bytes(), &next); err != nil {
				log.Printf("s3 store: ignoring an unreadable accounts line: %v", err)
				continue
			}
			iam.set(next.Accounts)
		}
		cancel() // stdin closed: the control plane is gone, so are we
	}()

	buckets, metaDir := filepath.Join(cfg.Dir, "buckets"), filepath.Join(cfg.Dir, "meta")
	for _, d := range []string{buckets, metaDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("s3 store: %w", err)
		}
	}
	// Sidecar metadata (not xattrs) works on every filesystem and keeps
	// the bucket directories holding nothing but the objects.
	ms, err := meta.NewSideCar(metaDir)
	if err != nil {
		return fmt.Errorf("s3 store: metadata directory: %w", err)
	}
	opts := posix.PosixOpts{
		SideCarDir:          metaDir,
		Concurrency:         5000,    // versitygw's default
		IOBufferSize:        1 << 20, // versitygw's default
		CopyObjectThreshold: 5 << 30, // S3's own CopyObject limit; Hadoop's committers rename by copying
	}
	opts.SetNewDirPerm(fs.FileMode(0o755))
	opts.SetNewFilePerm(fs.FileMode(0o644))
	be, err := posix.New(buckets, ms, opts)
	if err != nil {
		return fmt.Errorf("s3 store: %w", err)
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	return embedgw.RunVersityGW(ctx, be, &embedgw.Config{
		RootUserAccess:    first.Root.AccessKeyID,
		RootUserSecret:    first.Root.SecretAccessKey,
		Region:            region,
		Ports:             []string{cfg.Listen},
		MaxConnections:    250000, // versitygw's defaults
		MaxRequests:       100000,
		MultipartMaxParts: 10000,
		Quiet:             true,
		KeepAlive:         true,
		IAMService:        iam,
	})
}

// iamService answers the gateway's account lookups from the set the
// control plane last sent. Accounts are managed by Hearth, so the
// gateway's own user management API refuses.
type iamService struct {
	mu       sync.RWMutex
	accounts map[string]auth.Account
}

var errManaged = errors.New("accounts of Hearth's built-in store are Hearth's access keys: manage them with hearth access-keys")

func (s *iamService) set(accounts []Account) {
	m := make(map[string]auth.Account, len(accounts))
	for _, a := range accounts {
		m[a.AccessKeyID] = auth.Account{Access: a.AccessKeyID, Secret: a.SecretAccessKey, Role: auth.RoleAdmin}
	}
	s.mu.Lock()
	s.accounts = m
	s.mu.Unlock()
}

func (s *iamService) GetUserAccount(access string) (auth.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[access]
	if !ok {
		return auth.Account{}, auth.ErrNoSuchUser // compared with ==, not errors.Is
	}
	return a, nil
}

func (s *iamService) ResolveAccounts(ids []string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var missing []string
	for _, id := range ids {
		if _, ok := s.accounts[id]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func (s *iamService) ListUserAccounts() ([]auth.Account, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]auth.Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		a.Secret = ""
		out = append(out, a)
	}
	return out, nil
}

func (s *iamService) CreateAccount(auth.Account) error                  { return errManaged }
func (s *iamService) UpdateUserAccount(string, auth.MutableProps) error { return errManaged }
func (s *iamService) DeleteUserAccount(string) error                    { return errManaged }
func (s *iamService) Shutdown() error                                   { return nil }
