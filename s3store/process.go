package s3store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is the store running as a child of the control plane: started
// by Start, restarted if it dies, stopped with the context Start was given.
// The child also exits by itself when the control plane dies, because its
// stdin closes.
type Process struct {
	Endpoint string // http://host:port

	exe     string
	cfg     Config
	logPath string
	log     *slog.Logger
	root    Account

	mu       sync.Mutex
	stdin    io.WriteCloser
	child    *os.Process
	accounts []Account
	done     chan struct{} // closed when the store has stopped for good
}

// Start runs `exe s3-server` serving cfg, and waits until it accepts
// connections. Its output goes to logPath.
func Start(ctx context.Context, exe string, cfg Config, root Account, accounts []Account, logPath string, log *slog.Logger) (*Process, error) {
	p := &Process{Endpoint: "http://" + cfg.Listen, exe: exe, cfg: cfg, logPath: logPath, log: log, root: root, accounts: accounts,
		done: make(chan struct{})}
	exited, err := p.start()
	if err != nil {
		return nil, err
	}
	if err := p.awaitListening(exited); err != nil {
		return nil, err
	}
	go p.supervise(ctx, exited)
	return p, nil
}

func (p *Process) start() (<-chan error, error) {
	if err := os.MkdirAll(filepath.Dir(p.logPath), 0o700); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(p.exe, "s3-server", "--dir", p.cfg.Dir, "--listen", p.cfg.Listen, "--region", p.cfg.Region)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a Ctrl-C meant for the server reaches it
	// only through the server; and it dies with the server's thread.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the built-in S3 store: %w", err)
	}
	p.mu.Lock()
	p.stdin, p.child = stdin, cmd.Process
	err = p.sendLocked()
	p.mu.Unlock()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); stdin.Close() }()
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	return exited, nil
}

// awaitListening waits until the store accepts connections, or says why
// it did not.
func (p *Process) awaitListening(exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", p.cfg.Listen, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the built-in S3 store exited at start (%v): %s", err, p.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.mu.Lock()
			p.child.Kill()
			p.mu.Unlock()
			<-exited
			return fmt.Errorf("the built-in S3 store does not answer on %s after 30s: %s", p.cfg.Listen, p.tail())
		}
	}
}

// tail is the end of the store's log, for error messages.
func (p *Process) tail() string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Sprintf("%s (log: %s)", strings.Join(lines, " | "), p.logPath)
}

// Done is closed once the store has stopped after Start's context ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// supervise restarts the store when it dies, and stops it with ctx.
func (p *Process) supervise(ctx context.Context, exited <-chan error) {
	defer close(p.done)
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			p.stdin.Close() // the store exits when its stdin closes
			child := p.child
			p.mu.Unlock()
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				child.Kill()
				<-exited
			}
			return
		case err := <-exited:
			p.log.Error("the built-in S3 store exited; restarting it", "err", err, "log", p.logPath)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			var err error
			if exited, err = p.start(); err == nil {
				if err = p.awaitListening(exited); err == nil {
					backoff = time.Second
					break
				}
			}
			p.log.Error("restart the built-in S3 store", "err", err)
		}
	}
}

// SetAccounts makes the store accept exactly these accounts (and its
// root), from now on.
func (p *Process) SetAccounts(accounts []Account) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slices.Equal(accounts, p.accounts) {
		return nil
	}
	p.accounts = slices.Clone(accounts)
	return p.sendLocked()
}

func (p *Process) sendLocked() error {
	b, err := json.Marshal(Accounts{Root: p.root, Accounts: p.accounts})
	if err != nil {
		return err
	}
	_, err = p.stdin.Write(append(b, '\n'))
	return err
}
