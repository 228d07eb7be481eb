package ssh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/store/sqlite"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// otherArch is an architecture this hearth binary is not built for.
func otherArch() string {
	if runtime.GOARCH == "riscv64" {
		return "s390x"
	}
	return "riscv64"
}

// newProvisioner returns a provisioner over a fresh SQLite store.
func newProvisioner(t *testing.T) (*Provisioner, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return &Provisioner{Store: st, ServerURL: "https://10.0.0.254:8443"}, st
}

type hostSpec struct {
	name        string
	arch        string // default runtime.GOARCH
	cpus, memMB int    // default 4 CPUs, 16 GiB
	maxNodes    int    // default 1
}

// addHost stores a validated host; hosts added later come later in the
// inventory.
func addHost(t *testing.T, st *sqlite.Store, hs hostSpec) *hearth.Host {
	t.Helper()
	if hs.arch == "" {
		hs.arch = runtime.GOARCH
	}
	if hs.cpus == 0 {
		hs.cpus = 4
	}
	if hs.memMB == 0 {
		hs.memMB = 16384
	}
	hosts, err := st.Hosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := &hearth.Host{
		Id:               hearth.NewHostID(),
		Name:             hs.name,
		Address:          fmt.Sprintf("10.0.0.%d", len(hosts)+1),
		User:             "spark",
		MaxNodes:         hs.maxNodes,
		Facts:            hearth.HostFacts{OS: "linux", Arch: hs.arch, CPUs: hs.cpus, MemoryMB: hs.memMB},
		CreationDateTime: testNow.Add(time.Duration(len(hosts)) * time.Second),
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("host %s: %v", hs.name, err)
	}
	if err := st.PutHost(context.Background(), h); err != nil {
		t.Fatalf("put host %s: %v", hs.name, err)
	}
	return h
}

// addCluster stores an ssh cluster of count m5.xlarge nodes (one master,
// the rest core).
func addCluster(t *testing.T, st *sqlite.Store, count int) (*hearth.Cluster, []*hearth.Node) {
	t.Helper()
	groups, err := hearth.InstanceGroupsFromCount("m5.xlarge", count)
	if err != nil {
		t.Fatal(err)
	}
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{Name: "t", InstanceGroups: groups, Provisioner: "ssh"}, "3.5.6", testNow)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	if err := st.CreateCluster(context.Background(), c, nodes, nil); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return c, nodes
}

// record stores n's placement, as the control plane does after Place.
func record(t *testing.T, st *sqlite.Store, n *hearth.Node) {
	t.Helper()
	_, err := st.UpdateNode(context.Background(), n.Id, func(s *hearth.Node) error {
		s.Host, s.HostId, s.Ports = n.Host, n.HostId, n.Ports
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateNode: %v", err)
	}
}

func TestPlaceUsesDistinctHostsInInventoryOrder(t *testing.T) {
	p, st := newProvisioner(t)
	hosts := []*hearth.Host{addHost(t, st, hostSpec{name: "a"}), addHost(t, st, hostSpec{name: "b"}), addHost(t, st, hostSpec{name: "c"})}
	c, nodes := addCluster(t, st, 3)
	for i, n := range nodes {
		n.Ports = hearth.NodePorts{MasterPort: 7077, WorkerPort: 7078}
		if err := p.Place(context.Background(), c, n); err != nil {
			t.Fatalf("Place node %d: %v", i, err)
		}
		if n.HostId != hosts[i].Id || n.Host != hosts[i].Address {
			t.Errorf("node %d on %s (%s), want host %s (%s)", i, n.HostId, n.Host, hosts[i].Name, hosts[i].Address)
		}
		if n.Ports != (hearth.NodePorts{}) {
			t.Errorf("node %d keeps ports %+v, want none (its agent picks them)", i, n.Ports)
		}
		record(t, st, n)
	}

	extra := hearth.NewNode(c, &c.InstanceGroups[1], testNow)
	err := p.Place(context.Background(), c, extra)
	if err == nil || !strings.Contains(err.Error(), "hearth hosts add") {
		t.Errorf("Place with every slot used: err = %v, want one mentioning `hearth hosts add`", err)
	}
}

func TestPlaceCountsNodesPlacedButNotStored(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "a"})
	addHost(t, st, hostSpec{name: "b"})
	c, nodes := addCluster(t, st, 2)
	for _, n := range nodes {
		if err := p.Place(context.Background(), c, n); err != nil {
			t.Fatalf("Place: %v", err)
		}
	}
	if nodes[0].HostId == nodes[1].HostId {
		t.Errorf("both nodes placed on %s: the first, not yet stored, was not counted", nodes[0].HostId)
	}
	extra := hearth.NewNode(c, &c.InstanceGroups[1], testNow)
	if err := p.Place(context.Background(), c, extra); err == nil || !strings.Contains(err.Error(), "hearth hosts add") {
		t.Errorf("third Place: err = %v, want one mentioning `hearth hosts add`", err)
	}
}

func TestPlaceMaxNodes(t *testing.T) {
	p, st := newProvisioner(t)
	h := addHost(t, st, hostSpec{name: "a", maxNodes: 2})
	c, nodes := addCluster(t, st, 2)
	for _, n := range nodes {
		if err := p.Place(context.Background(), c, n); err != nil {
			t.Fatalf("Place: %v", err)
		}
		if n.HostId != h.Id {
			t.Errorf("node on %s, want %s (MaxNodes 2)", n.HostId, h.Id)
		}
	}
	extra := hearth.NewNode(c, &c.InstanceGroups[1], testNow)
	if err := p.Place(context.Background(), c, extra); err == nil {
		t.Errorf("third node placed on %s, beyond its MaxNodes 2", extra.HostId)
	}
}

func TestPlaceSkipsHostsOfAnotherArch(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "alien", arch: otherArch()})
	native := addHost(t, st, hostSpec{name: "native"})
	c, nodes := addCluster(t, st, 2)

	if err := p.Place(context.Background(), c, nodes[0]); err != nil {
		t.Fatalf("Place: %v", err)
	}
	if nodes[0].HostId != native.Id {
		t.Errorf("node placed on %s, want the %s host %s", nodes[0].HostId, runtime.GOARCH, native.Id)
	}
	err := p.Place(context.Background(), c, nodes[1])
	want := "not linux/" + runtime.GOARCH
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Place with only the %s host left: err = %v, want one saying %q", otherArch(), err, want)
	}
}

func TestPlacePrefersHostsWhereTheClusterDidNotFail(t *testing.T) {
	p, st := newProvisioner(t)
	a := addHost(t, st, hostSpec{name: "a"})
	b := addHost(t, st, hostSpec{name: "b"})
	c, nodes := addCluster(t, st, 2)
	_, err := st.UpdateNode(context.Background(), nodes[0].Id, func(n *hearth.Node) error {
		n.Host, n.HostId = a.Address, a.Id
		n.SetState(hearth.NodeFailed, "agent exited", testNow)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Place(context.Background(), c, nodes[1]); err != nil {
		t.Fatalf("Place: %v", err)
	}
	if nodes[1].HostId != b.Id {
		t.Errorf("node placed on %s, want %s: the cluster's node failed on %s", nodes[1].HostId, b.Id, a.Id)
	}
}

func TestPlacePrefersLeastUsedHost(t *testing.T) {
	p, st := newProvisioner(t)
	a := addHost(t, st, hostSpec{name: "a", maxNodes: 2})
	b := addHost(t, st, hostSpec{name: "b", maxNodes: 2})
	c, nodes := addCluster(t, st, 2)
	if err := p.Place(context.Background(), c, nodes[0]); err != nil || nodes[0].HostId != a.Id {
		t.Fatalf("first Place: host %s, err %v; want %s", nodes[0].HostId, err, a.Id)
	}
	if err := p.Place(context.Background(), c, nodes[1]); err != nil || nodes[1].HostId != b.Id {
		t.Errorf("second Place: host %s, err %v; want the unused %s", nodes[1].HostId, err, b.Id)
	}
}

// A node's slot is free again once its cluster has ended, whether or not
// Place or Fit ran in between.
func TestPlaceFreesSlotsOfEndedClusters(t *testing.T) {
	p, st := newProvisioner(t)
	a := addHost(t, st, hostSpec{name: "a"})
	old, nodes := addCluster(t, st, 1)
	if err := p.Place(context.Background(), old, nodes[0]); err != nil {
		t.Fatalf("Place: %v", err)
	}
	record(t, st, nodes[0])
	_, err := st.UpdateNode(context.Background(), nodes[0].Id, func(n *hearth.Node) error {
		n.SetState(hearth.NodeTerminated, "", testNow)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateCluster(context.Background(), old.Id, func(c *hearth.Cluster) error {
		c.Status.State = hearth.ClusterTerminated
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	c, next := addCluster(t, st, 1)
	if err := p.Place(context.Background(), c, next[0]); err != nil || next[0].HostId != a.Id {
		t.Errorf("Place after the old cluster ended: host %q, err %v; want %s", next[0].HostId, err, a.Id)
	}
}

func TestFitRefusesMoreNodesThanFreeSlots(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "a"})
	c, _ := addCluster(t, st, 2)
	_, err := p.Fit(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "free slots") {
		t.Fatalf("Fit: err = %v, want one about free slots", err)
	}
	if !errors.Is(err, hearth.ErrInvalid) {
		t.Errorf("Fit error %q does not wrap ErrInvalid", err)
	}
}

func TestFitCountsOtherClustersNodes(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "a"})
	addHost(t, st, hostSpec{name: "b"})
	running, nodes := addCluster(t, st, 1)
	if err := p.Place(context.Background(), running, nodes[0]); err != nil {
		t.Fatal(err)
	}
	record(t, st, nodes[0])

	c, _ := addCluster(t, st, 2)
	if _, err := p.Fit(context.Background(), c); err == nil || !strings.Contains(err.Error(), "1 free slots") {
		t.Errorf("Fit with one of two hosts taken: err = %v, want a refusal counting 1 free slot", err)
	}
}

func TestFitRefusesHostsOfAnotherArch(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "alien", arch: otherArch()})
	c, _ := addCluster(t, st, 1)
	_, err := p.Fit(context.Background(), c)
	want := "not linux/" + runtime.GOARCH
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Fit: err = %v, want one saying %q", err, want)
	}
}

func TestFitCapsSparkToSmallestHost(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "big", cpus: 8, memMB: 32768})
	addHost(t, st, hostSpec{name: "small", cpus: 2, memMB: 6144})
	c, _ := addCluster(t, st, 2) // m5.xlarge: 4 cores, 12288 MiB each
	notes, err := p.Fit(context.Background(), c)
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	for _, g := range c.InstanceGroups {
		if g.Spark.Cores != 2 || g.Spark.MemoryMB != 6144-2048 {
			t.Errorf("group %s offers %d cores, %d MiB; want 2 cores, %d MiB (the small host's)", g.Id, g.Spark.Cores, g.Spark.MemoryMB, 6144-2048)
		}
	}
	if len(notes) != 2*len(c.InstanceGroups) {
		t.Errorf("notes = %q, want one for cores and one for memory per group", notes)
	}
	for _, n := range notes {
		if !strings.Contains(n, "small") {
			t.Errorf("note %q does not name the small host", n)
		}
	}
}

func TestFitLeavesSizesThatFit(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "a", cpus: 8, memMB: 32768})
	addHost(t, st, hostSpec{name: "b", cpus: 8, memMB: 32768})
	c, _ := addCluster(t, st, 2)
	notes, err := p.Fit(context.Background(), c)
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	if len(notes) != 0 {
		t.Errorf("notes = %q, want none", notes)
	}
	for _, g := range c.InstanceGroups {
		if g.Spark != (hearth.NodeResources{Cores: 4, MemoryMB: 12288}) {
			t.Errorf("group %s Spark = %+v, want m5.xlarge's 4 cores, 12288 MiB", g.Id, g.Spark)
		}
	}
}

// Cores are capped to the fewest CPUs of any free host, even when that host
// is not the one with the least memory.
func TestFitCapsCoresToFewestCPUs(t *testing.T) {
	p, st := newProvisioner(t)
	addHost(t, st, hostSpec{name: "few-cpus", cpus: 2, memMB: 32768})
	addHost(t, st, hostSpec{name: "little-memory", cpus: 16, memMB: 8192})
	c, _ := addCluster(t, st, 2)
	if _, err := p.Fit(context.Background(), c); err != nil {
		t.Fatalf("Fit: %v", err)
	}
	for _, g := range c.InstanceGroups {
		if g.Spark.Cores != 2 {
			t.Errorf("group %s offers %d cores, but host few-cpus has 2", g.Id, g.Spark.Cores)
		}
	}
}

func TestParseStat(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatalf("read /proc/self/stat: %v", err)
	}
	pid, start, err := parseStat(string(b))
	if err != nil {
		t.Fatalf("parseStat(%q): %v", b, err)
	}
	if pid != os.Getpid() || start == 0 {
		t.Errorf("parseStat = pid %d, start %d; want pid %d and a start time", pid, start, os.Getpid())
	}
}

func TestParseStatOddCommand(t *testing.T) {
	// The command name may hold spaces and parentheses; field 22 counts
	// from the last ')'.
	line := "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100"
	pid, start, err := parseStat(line)
	if err != nil || pid != 4242 || start != 987654 {
		t.Errorf("parseStat = %d, %d, %v; want 4242, 987654, nil", pid, start, err)
	}
}

func TestParseStatRefuses(t *testing.T) {
	for _, s := range []string{
		"",
		"4242 (hearth) Z 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100", // zombie
		"4242 (hearth) S 1 2 3", // too short
	} {
		if _, _, err := parseStat(s); err == nil {
			t.Errorf("parseStat(%q) accepted", s)
		}
	}
}

func TestGoArch(t *testing.T) {
	for in, want := range map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "riscv64": "riscv64"} {
		if got := goArch(in); got != want {
			t.Errorf("goArch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFitRefusesWithoutAnAdvertisedURL(t *testing.T) {
	p, st := newProvisioner(t)
	p.ServerURL = ""
	addHost(t, st, hostSpec{name: "a"})
	c, _ := addCluster(t, st, 1)
	_, err := p.Fit(context.Background(), c)
	if !errors.Is(err, hearth.ErrInvalid) || !strings.Contains(err.Error(), "--advertise-url") {
		t.Fatalf("Fit without --advertise-url: %v; want a refusal naming --advertise-url", err)
	}
}

func TestParseStatRefusesGarbage(t *testing.T) {
	for _, s := range []string{"", ")", "12", "12 (x) S"} {
		if _, _, err := parseStat(s); err == nil {
			t.Errorf("parseStat(%q) accepted it", s)
		}
	}
}
