//go:build linux

// Package testhosts creates throwaway machines for integration tests and
// benchmarks of Hearth's SSH provisioner.
//
// It is test infrastructure, not a fake: each host is a real Linux network
// namespace, with its own eth0 (one end of a veth pair whose other end is a
// port of a bridge in the root namespace) and IP address, running the real
// OpenSSH server (/usr/sbin/sshd) with its own ed25519 host key, its own
// hostname (a UTS namespace) and an /etc/hosts naming every host (a private
// mount namespace). Hearth's control plane, in the root namespace, reaches
// the hosts over the bridge, and whatever it starts on them reaches back to
// Cluster.GatewayIP, the bridge's address. The hosts share the machine's
// filesystem, and so its binaries, Java and Spark, except that Options.NoJava
// hides Java from some; each has a directory of its own, Host.WorkRoot.
//
// No traffic leaves: the bridge joins nothing but the hosts, the hosts have no
// default route, and the package itself connects only to the hosts' addresses,
// from a socket bound to the bridge.
//
// It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2, util-linux and
// OpenSSH's server, which scripts/test-deps.sh installs. Cluster.Close removes
// all of it; what a process that died before Close (a test timeout) left
// behind, the next Start in any process removes.
package testhosts

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	sshdPath = "/usr/sbin/sshd"
	netnsDir = "/run/netns"
	// lockDir holds one <id>.lock per live cluster, flock(2)ed by the
	// process that owns it: a lock that can be taken belongs to a dead one.
	lockDir = "/run/hearth-testhosts"
	// readyTimeout bounds Start's wait for the sshds when ctx has no sooner
	// deadline; killTimeout bounds the wait for SIGKILLed processes to go.
	readyTimeout = 30 * time.Second
	killTimeout  = 10 * time.Second
)

// Options says what Start creates.
type Options struct {
	// Hosts is how many hosts, at least 1.
	Hosts int
	// NoJava lists the indexes (into Cluster.Hosts) of the hosts on which
	// no java can be found: their sshd, and so every login, sees an empty
	// /usr/lib/jvm, and /dev/null in place of any other java on the PATH.
	NoJava []int
	// Subnet is the IPv4 network, such as "10.77.3.0/24", of the bridge
	// (its first address) and the hosts (the next ones). It must not overlap
	// the machine's addresses, routes or name servers. Empty picks a free
	// 10.X.Y.0/24 at random.
	Subnet string
}

// Cluster is a set of hosts on one bridge, made by Start.
type Cluster struct {
	Bridge    string // the bridge's name, in the root namespace
	GatewayIP string // the bridge's address: the root namespace as the hosts reach it
	Subnet    string // the network, in CIDR notation
	Hosts     []*Host
	// ClientKeyFile is an ed25519 private key in OpenSSH format (0600),
	// authorized for root on every host; its public key is beside it (.pub).
	ClientKeyFile string
	// KnownHostsFile is a known_hosts file with every host's key.
	KnownHostsFile string

	nw     *Network
	id     string   // the random prefix of every name the cluster made: nw's
	lock   *os.File // lockDir/<id>.lock, flocked while the cluster lives: nw's
	mu     sync.Mutex
	closed bool
}

// Network is what a Cluster is made on, for other packages' test machines
// (internal/fakeec2's instances): a bridge in the root namespace, with its
// subnet and its first address, and network namespaces on it. All its names
// begin with one random id; Close removes them, and what a process that died
// before Close left, the next Start or NewNetwork in any process removes.
type Network struct {
	Bridge    string // the bridge's name, in the root namespace
	GatewayIP string // the bridge's address: the root namespace as the namespaces reach it
	Subnet    string // the network, in CIDR notation

	id     string   // the random prefix of every name the network made
	lock   *os.File // lockDir/<id>.lock, flocked while the network lives
	prefix int      // the subnet's prefix length
	mu     sync.Mutex
	veths  map[string]string // AddNamespace's namespaces: the root namespace's end of their veth
	next   int               // the number of AddNamespace's next veth
	closed bool
}

// Host is one machine: a network namespace running sshd.
type Host struct {
	Name     string // the network namespace's name, and the hostname on the host
	Addr     string // the host's IPv4 address, where sshd listens
	Port     int    // sshd's port: 22
	User     string // the user to log in as: "root"
	NoJava   bool   // whether the host hides Java (Options.NoJava)
	WorkRoot string // a directory of the host's own, <baseDir>/hosts/<Name>; its sshd/ is sshd's: leave it be
	// HostKeyFingerprint is the SHA256 fingerprint of the host's key, as
	// ssh-keygen -lf prints it ("SHA256:..."), and HostPublicKey the key
	// in authorized_keys format.
	HostKeyFingerprint string
	HostPublicKey      string

	veth       string // the root namespace's end of the host's veth pair
	sshdConfig string
	sshdLog    string
	sshd       *exec.Cmd
	exited     chan struct{} // closed once sshd has exited and been reaped
}

// pickMu keeps concurrent Starts in one process from choosing the same subnet
// (another process's choice shows as its bridge's address).
var pickMu sync.Mutex

// Start creates opt.Hosts hosts, with their keys, configuration and logs
// under baseDir (which it creates), and returns once every host's sshd
// accepts connections. On error it removes whatever it had made. The Cluster
// lives until Close, whatever becomes of ctx.
func Start(ctx context.Context, baseDir string, opt Options) (_ *Cluster, err error) {
	if opt.Hosts < 1 {
		return nil, errors.New("testhosts: Options.Hosts must be at least 1")
	}
	for _, i := range opt.NoJava {
		if i < 0 || i >= opt.Hosts {
			return nil, fmt.Errorf("testhosts: Options.NoJava index %d is not that of a host (0..%d)", i, opt.Hosts-1)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("testhosts: network namespaces need root")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		return nil, fmt.Errorf("testhosts: no OpenSSH server (scripts/test-deps.sh installs it): %w", err)
	}
	if baseDir, err = filepath.Abs(baseDir); err != nil {
		return nil, err
	}
	nw, err := NewNetwork(ctx, baseDir, opt.Subnet, opt.Hosts)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Bridge: nw.Bridge, GatewayIP: nw.GatewayIP, Subnet: nw.Subnet, nw: nw, id: nw.id, lock: nw.lock,
		ClientKeyFile: filepath.Join(baseDir, "id_ed25519"), KnownHostsFile: filepath.Join(baseDir, "known_hosts")}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	clientKey, err := newKey(c.ClientKeyFile)
	if err != nil {
		return nil, err
	}

	_, subnet, _ := net.ParseCIDR(nw.Subnet)
	var hostsFile strings.Builder
	hostsFile.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for i := range opt.Hosts {
		h := &Host{Name: fmt.Sprintf("%s-%d", c.id, i), Addr: nthIP(subnet, 2+i).String(), Port: 22, User: "root",
			NoJava: slices.Contains(opt.NoJava, i), veth: fmt.Sprintf("%sv%d", c.id, i)}
		h.WorkRoot = filepath.Join(baseDir, "hosts", h.Name)
		c.Hosts = append(c.Hosts, h)
		fmt.Fprintf(&hostsFile, "%s\t%s\n", h.Addr, h.Name)
	}

	// A namespace per host, with its veth pair.
	var nss []namespace
	for _, h := range c.Hosts {
		nss = append(nss, namespace{h.Name, h.veth, h.Addr})
	}
	if err := nw.addNamespaces(ctx, nss); err != nil {
		return nil, err
	}

	// The sshds.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation directory
		return nil, err
	}
	if err := os.Chmod("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	hideDirs, hideFiles := javaPlaces()
	var known bytes.Buffer
	for _, h := range c.Hosts {
		hostKey, err := h.configure(clientKey, hostsFile.String())
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(&known, knownhosts.Line([]string{h.Addr}, hostKey))
		if err := h.startSSHD(hideDirs, hideFiles); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(c.KnownHostsFile, known.Bytes(), 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, h := range c.Hosts {
		if err := h.waitReady(ctx, c.Bridge); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewNetwork creates a bridge, on subnet (as Options.Subnet: empty picks a
// free 10.X.Y.0/24) with room for hosts namespaces, and holds its lock file;
// it first removes what dead processes left. baseDir is only noted in the
// lock file. On error it removes whatever it had made.
func NewNetwork(ctx context.Context, baseDir, subnet string, hosts int) (_ *Network, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("testhosts: network namespaces need root")
	}
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return nil, err
	}
	sweepStale()
	n := &Network{veths: map[string]string{}}
	if err := n.takeID(baseDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Close())
		}
	}()
	return n, n.addBridge(ctx, subnet, hosts)
}

// addBridge picks the subnet and creates the bridge with its first address.
func (n *Network) addBridge(ctx context.Context, want string, hosts int) error {
	pickMu.Lock()
	defer pickMu.Unlock()
	subnet, err := pickSubnet(want, hosts)
	if err != nil {
		return err
	}
	n.prefix, _ = subnet.Mask.Size()
	n.Bridge, n.Subnet, n.GatewayIP = n.id+"br", subnet.String(), nthIP(subnet, 1).String()
	_, err = run(ctx, fmt.Sprintf("link add %s type bridge forward_delay 0\naddr add %s/%d dev %[1]s\nlink set %[1]s up\n", n.Bridge, n.GatewayIP, n.prefix), "ip", "-batch", "-")
	return err
}

// AddNamespace creates the network namespace <id>-<suffix> (suffix: letters,
// digits, '-', '_' or '.'), with lo up and an eth0 with the address addr, in
// the subnet: one end of a veth pair whose other end is a port of the bridge.
// Its only routes are to the subnet. It returns the namespace's name.
func (n *Network) AddNamespace(ctx context.Context, suffix, addr string) (string, error) {
	if suffix == "" || strings.Trim(suffix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return "", fmt.Errorf("testhosts: namespace suffix %q", suffix)
	}
	_, subnet, _ := net.ParseCIDR(n.Subnet)
	if a := net.ParseIP(addr).To4(); a == nil || !subnet.Contains(a) || a.Equal(subnet.IP) || a.Equal(net.ParseIP(n.GatewayIP)) {
		return "", fmt.Errorf("testhosts: %q is not a host address in %s", addr, n.Subnet)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return "", errors.New("testhosts: the network is closed")
	}
	ns := namespace{name: n.id + "-" + suffix, veth: fmt.Sprintf("%sn%d", n.id, n.next), addr: addr}
	if _, ok := n.veths[ns.name]; ok {
		return "", fmt.Errorf("testhosts: namespace %s exists", ns.name)
	}
	n.next++
	n.veths[ns.name] = ns.veth
	if err := n.addNamespaces(ctx, []namespace{ns}); err != nil {
		return "", errors.Join(err, n.deleteNamespace(ns.name))
	}
	return ns.name, nil
}

// DeleteNamespace kills every process in a namespace of AddNamespace's, as
// KillNamespace does, and deletes it and its veth pair.
func (n *Network) DeleteNamespace(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.deleteNamespace(name)
}

func (n *Network) deleteNamespace(name string) error {
	veth, ok := n.veths[name]
	if !ok {
		return fmt.Errorf("testhosts: no namespace %s of AddNamespace's", name)
	}
	if err := killNS(name, 0); err != nil {
		return err
	}
	run(context.Background(), fmt.Sprintf("link del %s\nnetns del %s\n", veth, name), "ip", "-force", "-batch", "-")
	if _, err := os.Stat(filepath.Join(netnsDir, name)); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("testhosts: could not delete namespace %s", name)
	}
	if _, err := net.InterfaceByName(veth); err == nil {
		return fmt.Errorf("testhosts: could not delete %s", veth)
	}
	delete(n.veths, name)
	return nil
}

// namespace is one that addNamespaces creates.
type namespace struct{ name, veth, addr string }

// addNamespaces creates the namespaces, with their veth pairs, then each
// namespace's side.
func (n *Network) addNamespaces(ctx context.Context, nss []namespace) error {
	var batch strings.Builder
	for _, ns := range nss {
		fmt.Fprintf(&batch, "netns add %s\nlink add %s type veth peer name eth0 netns %[1]s\nlink set %[2]s master %s\nlink set %[2]s up\n", ns.name, ns.veth, n.Bridge)
	}
	if _, err := run(ctx, batch.String(), "ip", "-batch", "-"); err != nil {
		return err
	}
	for _, ns := range nss {
		if _, err := run(ctx, fmt.Sprintf("link set lo up\naddr add %s/%d dev eth0\nlink set eth0 up\n", ns.addr, n.prefix), "ip", "-n", ns.name, "-batch", "-"); err != nil {
			return err
		}
	}
	return nil
}

// Close kills every process in every namespace (SIGKILL, then waits until
// they are gone) and deletes the namespaces, the veth pairs and the bridge.
// It can be called again, and retries what failed.
func (n *Network) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	if err := destroy(n.id); err != nil {
		return err
	}
	n.closed = true
	os.Remove(lockFile(n.id))
	return n.lock.Close()
}

// NamespacePids lists the processes in the named network namespace.
func NamespacePids(name string) ([]int, error) { return nsPids(name) }

// KillNamespace SIGKILLs every process in the named network namespace, each
// through a pidfd, until none is left. A namespace that does not exist has
// none.
func KillNamespace(name string) error { return killNS(name, 0) }

// Close kills every process in every host's namespace (SIGKILL, then waits
// until they are gone) and deletes the namespaces, the veth pairs and the
// bridge. It can be called again, and retries what failed.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	err := c.nw.Close()
	for _, h := range c.Hosts {
		if h.exited == nil {
			continue
		}
		select {
		case <-h.exited:
		case <-time.After(killTimeout):
			err = errors.Join(err, fmt.Errorf("testhosts: sshd of %s has not exited", h.Name))
		}
	}
	if err != nil {
		return err
	}
	c.closed = true
	return nil
}

// Pids returns the processes in the host's network namespace.
func (h *Host) Pids() ([]int, error) { return nsPids(h.Name) }

// KillAll SIGKILLs every process in the host's namespace, as if the machine's
// processes died, and waits until they are gone. With keepSSHD it spares sshd's
// listening process, so the host still takes new SSH connections; its
// connections' processes die all the same.
func (h *Host) KillAll(keepSSHD bool) error {
	keep := 0
	if keepSSHD {
		keep = h.sshdPid()
	}
	return killNS(h.Name, keep)
}

// LinkDown takes the root namespace's end of the host's veth pair down, as
// if its cable were pulled: packets to and from the host are dropped (so
// connections time out, rather than being refused) until LinkUp.
func (h *Host) LinkDown() error {
	_, err := run(context.Background(), "", "ip", "link", "set", h.veth, "down")
	return err
}

// LinkUp undoes LinkDown.
func (h *Host) LinkUp() error {
	_, err := run(context.Background(), "", "ip", "link", "set", h.veth, "up")
	return err
}

// Exec runs a command on the host, for a test's assertions: in the host's
// network namespace and, while its sshd runs, in sshd's hostname and mount
// namespaces too (so a NoJava host hides Java from it as well). It is not a
// login: the command gets the caller's environment. It returns the command's
// standard output, and an error with its standard error if it fails.
func (h *Host) Exec(ctx context.Context, args ...string) ([]byte, error) {
	if pid := h.sshdPid(); pid != 0 {
		return run(ctx, "", "nsenter", append([]string{"--target", strconv.Itoa(pid), "--net", "--uts", "--mount", "--"}, args...)...)
	}
	return run(ctx, "", "ip", append([]string{"netns", "exec", h.Name}, args...)...)
}

// sshdPid is the pid of the host's listening sshd, or 0 if it is not running.
func (h *Host) sshdPid() int {
	if h.sshd == nil {
		return 0
	}
	select {
	case <-h.exited:
		return 0
	default:
		return h.sshd.Process.Pid
	}
}

// configure writes the host's sshd files to WorkRoot/sshd and returns its
// host key.
func (h *Host) configure(clientKey ssh.PublicKey, hostsFile string) (ssh.PublicKey, error) {
	dir := filepath.Join(h.WorkRoot, "sshd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	hostKey, err := newKey(keyFile)
	if err != nil {
		return nil, err
	}
	h.HostKeyFingerprint = ssh.FingerprintSHA256(hostKey)
	h.HostPublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey)))
	h.sshdConfig, h.sshdLog = filepath.Join(dir, "sshd_config"), filepath.Join(dir, "sshd.log")
	config := fmt.Sprintf(`# testhosts: the sshd of host %s
ListenAddress %s:%d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
`, h.Name, h.Addr, h.Port, keyFile, filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"))
	for name, text := range map[string]string{
		"sshd_config": config, "hosts": hostsFile, "authorized_keys": string(ssh.MarshalAuthorizedKey(clientKey)),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	return hostKey, nil
}

// startSSHD starts the host's sshd in the foreground, in its network
// namespace and in new mount and hostname namespaces (which die with their
// last process): there it sets the hostname, mounts the cluster's hosts file
// over /etc/hosts and, on a NoJava host, hides Java.
func (h *Host) startSSHD(hideDirs, hideFiles []string) error {
	script := fmt.Sprintf("set -e; hostname %s; mount --bind %s /etc/hosts; ", quote(h.Name), quote(filepath.Join(h.WorkRoot, "sshd", "hosts")))
	if h.NoJava {
		for _, d := range hideDirs {
			script += fmt.Sprintf("mount -t tmpfs -o size=64k,mode=755 testhosts-nojava %s; ", quote(d))
		}
		for _, f := range hideFiles {
			script += fmt.Sprintf("mount --bind /dev/null %s; ", quote(f))
		}
	}
	script += fmt.Sprintf("exec %s -D -e -f %s", sshdPath, quote(h.sshdConfig))
	log, err := os.OpenFile(h.sshdLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	// Neither ip netns exec nor unshare (without --fork) forks: the pid
	// is sshd's.
	h.sshd = exec.Command("ip", "netns", "exec", h.Name, "unshare", "--mount", "--uts", "--propagation", "private", "/bin/sh", "-c", script)
	h.sshd.Stdout, h.sshd.Stderr = log, log
	if err := h.sshd.Start(); err != nil {
		h.sshd = nil
		return fmt.Errorf("testhosts: starting sshd on %s: %w", h.Name, err)
	}
	h.exited = make(chan struct{})
	go func() { h.sshd.Wait(); close(h.exited) }()
	return nil
}

// waitReady waits until the host's sshd sends its banner, dialing from a
// socket bound to the bridge so that nothing can go elsewhere.
func (h *Host) waitReady(ctx context.Context, bridge string) error {
	d := net.Dialer{Timeout: time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, bridge)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	for {
		if conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))); err == nil {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			banner := make([]byte, 4)
			_, err := conn.Read(banner)
			conn.Close()
			if err == nil && string(banner) == "SSH-" {
				return nil
			}
		}
		select {
		case <-h.exited:
			return fmt.Errorf("testhosts: sshd on host %s (%s) exited (%v); its log ends:\n%s", h.Name, h.Addr, h.sshd.ProcessState, h.logTail())
		case <-ctx.Done():
			return fmt.Errorf("testhosts: sshd on host %s (%s:%d) not accepting connections: %w; its log ends:\n%s", h.Name, h.Addr, h.Port, ctx.Err(), h.logTail())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (h *Host) logTail() string {
	b, _ := os.ReadFile(h.sshdLog)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// takeID picks the network's random id, the prefix of all its names ("ht"
// and 6 hex digits, so that "<id>v<i>" fits in an interface name's 15
// bytes), and holds its lock file.
func (n *Network) takeID(baseDir string) error {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return err
	}
	for {
		b := make([]byte, 3)
		rand.Read(b)
		id := "ht" + hex.EncodeToString(b)
		// Lock before the name ends in .lock, so that sweepStale never
		// takes a lock that is about to be held.
		tmp := filepath.Join(lockDir, id+".new")
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		fmt.Fprintf(f, "pid %d\nbase %s\n", os.Getpid(), baseDir)
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err == nil {
			err = os.Link(tmp, lockFile(id))
		}
		os.Remove(tmp)
		if err != nil {
			f.Close()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return err
		}
		n.id, n.lock = id, f
		return nil
	}
}

func lockFile(id string) string { return filepath.Join(lockDir, id+".lock") }

// sweepStale destroys the clusters of processes that died without Close.
func sweepStale() {
	locks, _ := filepath.Glob(filepath.Join(lockDir, "*.lock"))
	for _, name := range locks {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && destroy(strings.TrimSuffix(filepath.Base(name), ".lock")) == nil {
			os.Remove(name)
		}
		f.Close()
	}
}

// destroy kills the processes in the namespaces named <id>-*, then deletes
// them and the interfaces named <id>*, and checks that none is left.
func destroy(id string) error {
	nss := func() (names []string) {
		entries, _ := os.ReadDir(netnsDir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), id+"-") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	links := func() (names []string) {
		ifaces, _ := net.Interfaces()
		for _, i := range ifaces {
			if strings.HasPrefix(i.Name, id) {
				names = append(names, i.Name)
			}
		}
		return names
	}
	var errs []error
	var batch strings.Builder
	for _, l := range links() { // deleting a veth's end deletes the pair
		fmt.Fprintf(&batch, "link del %s\n", l)
	}
	for _, ns := range nss() {
		errs = append(errs, killNS(ns, 0))
		fmt.Fprintf(&batch, "netns del %s\n", ns)
	}
	if batch.Len() > 0 {
		run(context.Background(), batch.String(), "ip", "-force", "-batch", "-")
	}
	if left := append(nss(), links()...); len(left) > 0 {
		errs = append(errs, fmt.Errorf("testhosts: could not delete %s", strings.Join(left, ", ")))
	}
	return errors.Join(errs...)
}

// killNS SIGKILLs every process in the network namespace but keep (0: none)
// until none is left.
func killNS(name string, keep int) error {
	ns, err := nsFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for deadline := time.Now().Add(killTimeout); ; time.Sleep(5 * time.Millisecond) {
		pids := slices.DeleteFunc(pidsIn(ns), func(p int) bool { return p == keep })
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testhosts: processes %v in namespace %s outlive SIGKILL", pids, name)
		}
		for _, pid := range pids {
			// Through a pidfd, checked after it is open, so that a pid
			// reused meanwhile by a process elsewhere is never signalled.
			if p, err := os.FindProcess(pid); err == nil {
				if inNS(pid, ns) {
					p.Signal(os.Kill)
				}
				p.Release()
			}
		}
	}
}

// nsPids lists the processes in the named network namespace, as ip netns pids
// does: those whose /proc/<pid>/ns/net is the namespace's file.
func nsPids(name string) ([]int, error) {
	ns, err := nsFile(name)
	if err != nil {
		return nil, err
	}
	return pidsIn(ns), nil
}

// nsFile identifies the named network namespace, which must not be this
// process's.
func nsFile(name string) (ns syscall.Stat_t, err error) {
	path := filepath.Join(netnsDir, name)
	if err := syscall.Stat(path, &ns); err != nil {
		return ns, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if inNS(os.Getpid(), ns) {
		return ns, fmt.Errorf("testhosts: %s is this process's own network namespace", path)
	}
	return ns, nil
}

func pidsIn(ns syscall.Stat_t) (pids []int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && inNS(pid, ns) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func inNS(pid int, ns syscall.Stat_t) bool {
	var st syscall.Stat_t
	return syscall.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &st) == nil && st.Dev == ns.Dev && st.Ino == ns.Ino
}

// javaPlaces returns what a NoJava host hides: /usr/lib/jvm, where Debian's
// JDKs are (and where /usr/bin/java leads through /etc/alternatives), and
// whatever else a java on a login's or this process's PATH resolves to.
func javaPlaces() (dirs, files []string) {
	if fi, err := os.Stat("/usr/lib/jvm"); err == nil && fi.IsDir() {
		dirs = append(dirs, "/usr/lib/jvm")
	}
	for _, d := range filepath.SplitList("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + os.Getenv("PATH")) {
		real, err := filepath.EvalSymlinks(filepath.Join(d, "java"))
		if err != nil || !filepath.IsAbs(real) || strings.HasPrefix(real, "/usr/lib/jvm/") || slices.Contains(files, real) {
			continue
		}
		files = append(files, real)
	}
	return dirs, files
}

// pickSubnet parses want, or picks a random free 10.X.Y.0/24, and checks that
// it has room for the gateway and n hosts and overlaps nothing of the
// machine's.
func pickSubnet(want string, n int) (*net.IPNet, error) {
	taken := takenNets()
	free := func(s *net.IPNet) error {
		for _, t := range taken {
			if s.Contains(t.IP) || t.Contains(s.IP) {
				return fmt.Errorf("testhosts: subnet %s overlaps %s, in use on this machine", s, t)
			}
		}
		return nil
	}
	if want != "" {
		_, s, err := net.ParseCIDR(want)
		if err != nil || s.IP.To4() == nil {
			return nil, fmt.Errorf("testhosts: Options.Subnet %q is not an IPv4 network", want)
		}
		if ones, _ := s.Mask.Size(); ones > 30 || n+3 > 1<<(32-ones) {
			return nil, fmt.Errorf("testhosts: subnet %s has no room for a gateway and %d hosts", s, n)
		}
		return s, free(s)
	}
	if n > 252 {
		return nil, fmt.Errorf("testhosts: %d hosts do not fit in a /24: set Options.Subnet", n)
	}
	for range 1000 {
		b := make([]byte, 2)
		rand.Read(b)
		s := &net.IPNet{IP: net.IPv4(10, b[0], b[1], 0).To4(), Mask: net.CIDRMask(24, 32)}
		if free(s) == nil {
			return s, nil
		}
	}
	return nil, errors.New("testhosts: found no free 10.X.Y.0/24")
}

// takenNets returns the machine's IPv4 networks: its interfaces' addresses,
// the main table's routes but the default one, and its name servers.
func takenNets() []*net.IPNet {
	var nets []*net.IPNet
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			nets = append(nets, n)
		}
	}
	routes, _ := os.ReadFile("/proc/net/route")
	for _, line := range strings.Split(string(routes), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 == nil && err2 == nil && mask != 0 {
			n := &net.IPNet{IP: make(net.IP, 4), Mask: make(net.IPMask, 4)}
			binary.LittleEndian.PutUint32(n.IP, uint32(dst)) // as the kernel prints them, in host order
			binary.LittleEndian.PutUint32(n.Mask, uint32(mask))
			nets = append(nets, n)
		}
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	for _, line := range strings.Split(string(resolv), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]).To4(); ip != nil {
				nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)})
			}
		}
	}
	return nets
}

// nthIP returns the subnet's address n.
func nthIP(s *net.IPNet, n int) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(s.IP.To4())+uint32(n))
	return ip
}

// newKey writes a new ed25519 key pair: the private key to path, in OpenSSH
// format (0600), the public one to path.pub, in authorized_keys format.
func newKey(path string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "hearth-testhosts")
	if err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	os.Remove(path) // so that it is created 0600
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return sshPub, os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644)
}

// run runs a command, with stdin if not empty, and returns its standard
// output, or an error with its standard error.
func run(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("testhosts: %s %s: %w", name, strings.Join(args, " "), err)
		if msg := bytes.TrimSpace(stderr.Bytes()); len(msg) > 0 {
			err = fmt.Errorf("%w: %s", err, msg)
		}
	}
	return out, err
}

// quote quotes s for sh.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ReceivedBytes is how many bytes the host has received over its link so
// far (the root namespace's end of its veth pair transmitted them).
func (h *Host) ReceivedBytes() (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/sys/class/net", h.veth, "statistics", "tx_bytes"))
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}
