package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dialTimeout bounds connecting and authenticating to a host.
const dialTimeout = 15 * time.Second

// ErrHostKey means a host presented a key other than the one pinned (or,
// when adding it, one the user has not accepted).
var ErrHostKey = errors.New("host key not trusted")

// dial connects to h as its user, accepting only the host key pinned when
// h was added.
func dial(ctx context.Context, h *hearth.Host) (*ssh.Client, error) {
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
	if err != nil {
		return nil, fmt.Errorf("%s: pinned host key unreadable: %v; remove and add the host again", h, err)
	}
	check := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if !bytes.Equal(key.Marshal(), pinned.Marshal()) {
			return fmt.Errorf("%w: %s presented %s, but %s was accepted when it was added; if the host was reinstalled, remove it and add it again",
				ErrHostKey, h, ssh.FingerprintSHA256(key), h.HostKeyFingerprint)
		}
		return nil
	}
	return connect(ctx, h, check)
}

func connect(ctx context.Context, h *hearth.Host, check ssh.HostKeyCallback) (*ssh.Client, error) {
	auth, err := authMethod(h)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{User: h.User, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: check, Timeout: dialTimeout}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", h.SSHAddr())
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", h, h.SSHAddr(), err)
	}
	conn.SetDeadline(time.Now().Add(dialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, h.SSHAddr(), cfg)
	if err != nil {
		conn.Close()
		if errors.Is(err, ErrHostKey) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: ssh as %s: %w", h, h.User, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// authMethod is h's key file, or the ssh-agent when it names none.
func authMethod(h *hearth.Host) (ssh.AuthMethod, error) {
	if h.KeyFile != "" {
		b, err := os.ReadFile(h.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: key file: %w", h, err)
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("%s: key file %s: %v (a passphrase-protected key must be loaded into ssh-agent instead; leave --key-file unset)", h, h.KeyFile, err)
		}
		return ssh.PublicKeys(signer), nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, hearth.Invalid("key-file", "", "no key file given and no ssh-agent ($SSH_AUTH_SOCK is not set in the server's environment)")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh-agent at $SSH_AUTH_SOCK: %w", h, err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), nil
}

// run runs cmd (a shell command line) on c and returns its stdout; an
// error carries the exit status and the tail of stderr.
func run(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	if err := s.Run(cmd); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 1024 {
			msg = "…" + msg[len(msg)-1024:]
		}
		return out.String(), fmt.Errorf("%v: %s", err, msg)
	}
	return out.String(), nil
}

// Probe connects to h for `hearth hosts add`: it accepts the host key only
// if its fingerprint is accept, or knownHosts (a known_hosts file) lists
// it for h's address. On success it pins the key in h and fills h.Facts.
func Probe(ctx context.Context, h *hearth.Host, accept, knownHosts string) error {
	var seen ssh.PublicKey
	var known ssh.HostKeyCallback
	if knownHosts != "" {
		var err error
		if known, err = knownhosts.New(knownHosts); err != nil {
			return hearth.Invalid("known-hosts", knownHosts, err.Error())
		}
	}
	check := func(name string, addr net.Addr, key ssh.PublicKey) error {
		seen = key
		fp := ssh.FingerprintSHA256(key)
		switch {
		case accept != "" && accept == fp:
			return nil
		case accept != "":
			return fmt.Errorf("%w: %s presented %s, not the %s given with --accept-host-key", ErrHostKey, h, fp, accept)
		case known != nil:
			if err := known(name, addr, key); err != nil {
				return fmt.Errorf("%w: %s presented %s, which %s does not list for it (%v)", ErrHostKey, h, fp, knownHosts, err)
			}
			return nil
		default:
			return fmt.Errorf("%w: %s presented the host key %s; check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and, if it matches, add the host again with --accept-host-key %s (or give --known-hosts)",
				ErrHostKey, h, fp, fp)
		}
	}
	c, err := connect(ctx, h, check)
	if err != nil {
		// The user's to fix: the address, the key, the user, the port.
		return fmt.Errorf("%w: %v", hearth.ErrInvalid, err)
	}
	defer c.Close()
	h.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(seen)))
	h.HostKeyFingerprint = ssh.FingerprintSHA256(seen)
	h.Facts, err = facts(c, h)
	return err
}

// factsScript prints, one per line: kernel, machine, CPUs, MemTotal (kB),
// then `java -version`'s output (nothing when there is no java: the agent
// finds Java the same way, through JAVA_HOME or PATH).
const factsScript = `uname -s; uname -m; getconf _NPROCESSORS_ONLN; awk '/^MemTotal:/{print $2}' /proc/meminfo
if [ -n "$JAVA_HOME" ] && [ -x "$JAVA_HOME/bin/java" ]; then "$JAVA_HOME/bin/java" -version 2>&1; elif command -v java >/dev/null 2>&1; then java -version 2>&1; fi; true`

func facts(c *ssh.Client, h *hearth.Host) (hearth.HostFacts, error) {
	out, err := run(c, factsScript)
	if err != nil {
		return hearth.HostFacts{}, fmt.Errorf("%s: read its capacity: %w", h, err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 {
		return hearth.HostFacts{}, fmt.Errorf("%s: read its capacity: unexpected output %q", h, out)
	}
	f := hearth.HostFacts{OS: strings.ToLower(strings.TrimSpace(lines[0])), Arch: goArch(strings.TrimSpace(lines[1])), CheckedAt: time.Now().UTC()}
	f.CPUs, _ = strconv.Atoi(strings.TrimSpace(lines[2]))
	kb, _ := strconv.Atoi(strings.TrimSpace(lines[3]))
	f.MemoryMB = kb / 1024
	if v, _, err := spark.ParseJavaVersion(strings.Join(lines[4:], "\n")); err == nil {
		f.Java = v
	}
	if f.CPUs < 1 || f.MemoryMB < 1 {
		return f, fmt.Errorf("%s: read its capacity: unexpected output %q", h, out)
	}
	return f, nil
}

// goArch is uname -m's machine in Go's spelling.
func goArch(m string) string {
	switch m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return m
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Dial connects to h as its user, accepting only its pinned host key (for
// hearth put and get).
func Dial(ctx context.Context, h *hearth.Host) (*ssh.Client, error) { return dial(ctx, h) }

// KnownHostsLine is h's pinned key as an OpenSSH known_hosts line, for the
// ssh command (hearth ssh).
func KnownHostsLine(h *hearth.Host) string {
	return knownhosts.Line([]string{knownhosts.Normalize(h.SSHAddr())}, mustKey(h.HostKey))
}

func mustKey(authorized string) ssh.PublicKey {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
	if err != nil {
		return nil
	}
	return k
}
