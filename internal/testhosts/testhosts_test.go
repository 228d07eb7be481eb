//go:build integration && linux

package testhosts

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestCluster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, t.TempDir(), Options{Hosts: 3, NoJava: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Logf("Start of 3 hosts on %s (%s, gateway %s): %v", c.Bridge, c.Subnet, c.GatewayIP, time.Since(began))

	key, err := os.ReadFile(c.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(c.ClientKeyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("client key is %v, want 0600", fi.Mode().Perm())
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(h *Host, fingerprint string) (*ssh.Client, error) {
		return ssh.Dial("tcp", net.JoinHostPort(h.Addr, fmt.Sprint(h.Port)), &ssh.ClientConfig{
			User: h.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, Timeout: 5 * time.Second,
			HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
				if got := ssh.FingerprintSHA256(key); got != fingerprint {
					return fmt.Errorf("host key %s, want %s", got, fingerprint)
				}
				return nil
			},
		})
	}
	sh := func(client *ssh.Client, cmd string) (string, error) {
		s, err := client.NewSession()
		if err != nil {
			return "", err
		}
		defer s.Close()
		out, err := s.CombinedOutput(cmd)
		return string(out), err
	}
	mustSh := func(client *ssh.Client, h *Host, cmd string) string {
		t.Helper()
		out, err := sh(client, cmd)
		if err != nil {
			t.Fatalf("%s on %s: %v: %s", cmd, h.Name, err, out)
		}
		return out
	}

	// The hosts: SSH with the right host key, their address, hostname and
	// routes, Java or none; and they reach one another and the gateway.
	if _, err := dial(c.Hosts[0], c.Hosts[1].HostKeyFingerprint); err == nil {
		t.Error("SSH to host 0 with host 1's fingerprint succeeded")
	}
	gw, err := net.Listen("tcp", net.JoinHostPort(c.GatewayIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	go func() {
		for {
			conn, err := gw.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(conn, "gateway")
			conn.Close()
		}
	}()
	gwPort := gw.Addr().(*net.TCPAddr).Port
	clients := make([]*ssh.Client, len(c.Hosts))
	for i, h := range c.Hosts {
		if clients[i], err = dial(h, h.HostKeyFingerprint); err != nil {
			t.Fatalf("SSH to %s: %v", h.Name, err)
		}
		defer clients[i].Close()
		if got := strings.TrimSpace(mustSh(clients[i], h, "hostname -I")); got != h.Addr {
			t.Errorf("hostname -I on %s = %q, want %s", h.Name, got, h.Addr)
		}
		if got := mustSh(clients[i], h, "ip -4 -o addr show dev eth0"); !strings.Contains(got, " "+h.Addr+"/24 ") {
			t.Errorf("%s's eth0: %s", h.Name, got)
		}
		if got := strings.TrimSpace(mustSh(clients[i], h, "hostname; getent hosts "+c.Hosts[(i+1)%3].Name)); !strings.HasPrefix(got, h.Name+"\n"+c.Hosts[(i+1)%3].Addr) {
			t.Errorf("hostname and a neighbour's address on %s: %q", h.Name, got)
		}
		if got := mustSh(clients[i], h, "ip -4 route"); strings.Contains(got, "default") || strings.Count(strings.TrimSpace(got), "\n") != 0 {
			t.Errorf("routes on %s, want only the subnet's:\n%s", h.Name, got)
		}
		java, err := sh(clients[i], `command -v java && test -x "$(readlink -f "$(command -v java)")"`)
		if h.NoJava != (err != nil) {
			t.Errorf("java on %s (NoJava %v): %v: %s", h.Name, h.NoJava, err, java)
		}
		if got := mustSh(clients[i], h, fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && cat <&3", c.GatewayIP, gwPort)); got != "gateway\n" {
			t.Errorf("%s read %q from the gateway", h.Name, got)
		}
		next := c.Hosts[(i+1)%len(c.Hosts)]
		if got := mustSh(clients[i], h, fmt.Sprintf("exec 3<>/dev/tcp/%s/22 && head -c 4 <&3", next.Addr)); got != "SSH-" {
			t.Errorf("%s read %q from %s's sshd", h.Name, got, next.Name)
		}
	}
	if out, err := c.Hosts[2].Exec(ctx, "sh", "-c", "command -v java; ls -A /usr/lib/jvm"); err != nil || len(out) != 0 {
		t.Errorf("Exec on the NoJava host found java or a JVM: %v: %s", err, out)
	}
	if out, err := c.Hosts[0].Exec(ctx, "hostname"); err != nil || string(out) != c.Hosts[0].Name+"\n" {
		t.Errorf("Exec hostname on host 0: %v: %q", err, out)
	}
	if entries, _ := os.ReadDir("/usr/lib/jvm"); len(entries) == 0 {
		t.Error("/usr/lib/jvm is empty in the root namespace")
	}

	// The ssh binary, with the client key and the known_hosts file.
	for _, h := range c.Hosts {
		out, err := exec.CommandContext(ctx, "ssh", "-F", "none", "-i", c.ClientKeyFile, "-o", "UserKnownHostsFile="+c.KnownHostsFile,
			"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", h.User+"@"+h.Addr, "hostname").CombinedOutput()
		if err != nil || string(out) != h.Name+"\n" {
			t.Errorf("ssh %s: %v: %s", h.Addr, err, out)
		}
	}

	// KillAll: a background process dies, sshd lives on.
	h := c.Hosts[1]
	sleeper, err := strconv.Atoi(strings.TrimSpace(mustSh(clients[1], h, "setsid nohup sleep 1000 >/dev/null 2>&1 < /dev/null & echo $!")))
	if err != nil {
		t.Fatal(err)
	}
	if before, err := h.Pids(); err != nil || !slices.Contains(before, sleeper) || !slices.Contains(before, h.sshdPid()) {
		t.Errorf("Pids %v, want sshd's %d and the sleeper's %d among them: %v", before, h.sshdPid(), sleeper, err)
	}
	if err := h.KillAll(true); err != nil {
		t.Fatal(err)
	}
	if after, err := h.Pids(); err != nil || len(after) != 1 || after[0] != h.sshdPid() {
		t.Errorf("after KillAll(true): pids %v, want only sshd's %d: %v", after, h.sshdPid(), err)
	}
	if _, err := sh(clients[1], "true"); err == nil { // its sshd process died too
		t.Error("an SSH connection outlived KillAll")
	}
	if clients[1], err = dial(h, h.HostKeyFingerprint); err != nil {
		t.Fatalf("SSH after KillAll(true): %v", err)
	}
	defer clients[1].Close()

	// LinkDown cuts the host off, and LinkUp brings it back.
	h = c.Hosts[0]
	if err := h.LinkDown(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(h.Addr, "22"), time.Second); err == nil {
		conn.Close()
		t.Error("host 0 reachable after LinkDown")
	}
	if _, err := sh(clients[1], fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && cat <&3", c.GatewayIP, gwPort)); err != nil {
		t.Errorf("host 1 cut off by host 0's LinkDown: %v", err)
	}
	if err := h.LinkUp(); err != nil {
		t.Fatal(err)
	}
	if _, err := sh(clients[0], "true"); err != nil {
		t.Errorf("host 0's SSH connection after LinkUp: %v", err)
	}

	// KillAll(false) takes sshd too.
	if err := c.Hosts[2].KillAll(false); err != nil {
		t.Fatal(err)
	}
	if pids, err := c.Hosts[2].Pids(); err != nil || len(pids) != 0 {
		t.Errorf("after KillAll(false): %v %v", pids, err)
	}

	// Close leaves nothing behind, and can be called again.
	mustSh(clients[0], c.Hosts[0], "setsid nohup sleep 1000 >/dev/null 2>&1 < /dev/null &")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertGone(t, c)
}

// assertGone checks that nothing of the cluster is left: namespaces,
// interfaces, processes, mounts and its lock file.
func assertGone(t *testing.T, c *Cluster) {
	t.Helper()
	netns, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	links, _ := exec.Command("ip", "-o", "link").CombinedOutput()
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for what, out := range map[string][]byte{"ip netns list": netns, "ip link": links, "mountinfo": mounts} {
		if bytes.Contains(out, []byte(c.id)) {
			t.Errorf("%s still shows %s:\n%s", what, c.id, out)
		}
	}
	for _, h := range c.Hosts {
		if out, err := exec.Command("pgrep", "-af", h.sshdConfig).Output(); err == nil {
			t.Errorf("processes left of %s: %s", h.Name, out)
		}
	}
	if _, err := os.Stat(lockFile(c.id)); !os.IsNotExist(err) {
		t.Errorf("lock file %s left: %v", lockFile(c.id), err)
	}
}

// TestStale: a cluster whose process died without Close goes at the next
// Start.
func TestStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	c, err := Start(context.Background(), t.TempDir(), Options{Hosts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.lock.Close() // as if the process had died
	c2, err := Start(context.Background(), t.TempDir(), Options{Hosts: 1, NoJava: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	assertGone(t, c)
	if pids, err := c2.Hosts[0].Pids(); err != nil || len(pids) != 1 {
		t.Errorf("second cluster's pids: %v %v", pids, err)
	}
}

// TestStartFails: a Start cut short (by its context, at one point or
// another) leaves nothing behind.
func TestStartFails(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ours := func() (names []string) { // namespaces, interfaces and lock files
		netns, _ := os.ReadDir(netnsDir)
		locks, _ := os.ReadDir(lockDir)
		for _, e := range append(netns, locks...) {
			names = append(names, e.Name())
		}
		ifaces, _ := net.Interfaces()
		for _, i := range ifaces {
			names = append(names, i.Name)
		}
		return names
	}
	before := ours()
	for _, d := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond, 60 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		c, err := Start(ctx, t.TempDir(), Options{Hosts: 2, NoJava: []int{1}})
		cancel()
		if err == nil {
			c.Close()
		} else {
			t.Logf("after %v: %v", d, err)
		}
		for _, name := range ours() {
			if !slices.Contains(before, name) {
				t.Errorf("after a Start cut short at %v: %s left", d, name)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []Options{{}, {Hosts: 2, NoJava: []int{2}}, {Hosts: 1, Subnet: "10.1.2.0/31"}, {Hosts: 1, Subnet: "fd00::/64"}} {
		if c, err := Start(context.Background(), t.TempDir(), opt); err == nil {
			c.Close()
			t.Errorf("Start(%+v) succeeded", opt)
		}
	}
	// A subnet overlapping the machine's own is refused.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			if _, err := pickSubnet(n.String(), 1); err == nil {
				t.Errorf("pickSubnet(%s) succeeded", n)
			}
		}
	}
	if _, err := pickSubnet("127.0.0.0/24", 1); err == nil {
		t.Error("pickSubnet(127.0.0.0/24) succeeded")
	}
	s, err := pickSubnet("", 4)
	if err != nil || !strings.HasPrefix(s.String(), "10.") || !strings.HasSuffix(s.String(), ".0/24") {
		t.Errorf("pickSubnet: %v %v", s, err)
	}
}

// BenchmarkStart4 starts and closes 4 hosts.
func BenchmarkStart4(b *testing.B) {
	var starting time.Duration
	for b.Loop() {
		began := time.Now()
		c, err := Start(context.Background(), b.TempDir(), Options{Hosts: 4, NoJava: []int{3}})
		if err != nil {
			b.Fatal(err)
		}
		starting += time.Since(began)
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(starting.Milliseconds())/float64(b.N), "start-ms/op")
}
