package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// newHost returns a valid inventory host named name at address:22, created
// at created, with labels and facts.
func newHost(t *testing.T, name, address string, created time.Time) *hearth.Host {
	t.Helper()
	h := &hearth.Host{
		Id:                 hearth.NewHostID(),
		Name:               name,
		Address:            address,
		User:               "spark",
		KeyFile:            "/etc/hearth/id_ed25519",
		WorkDir:            "/opt/hearth",
		Labels:             map[string]string{"rack": "r1", "disk": "ssd"},
		HostKey:            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx7Qf2b5kTn0fF3GmX9pQ0cRZ3bq8VtZ1m2n3o4p5q6 root@" + name,
		HostKeyFingerprint: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		MaxNodes:           2,
		Facts: hearth.HostFacts{
			OS:        "linux",
			Arch:      "amd64",
			CPUs:      16,
			MemoryMB:  65536,
			Java:      "17.0.12",
			CheckedAt: created.Add(time.Second),
		},
		CreationDateTime: created,
	}
	if err := h.Validate(); err != nil {
		t.Fatalf("fixture host %s: %v", name, err)
	}
	checkFilled(t, "host", h)
	return h
}

func mustPutHost(t *testing.T, s hearth.Store, h *hearth.Host) {
	t.Helper()
	if err := s.PutHost(t.Context(), h); err != nil {
		t.Fatalf("PutHost %s (%s): %v", h.Id, h.Name, err)
	}
}

func checkHost(t *testing.T, got, want *hearth.Host) {
	t.Helper()
	if got == nil {
		t.Fatalf("host %s: got nil", want.Id)
	}
	if d := sameJSON(got, want); d != "" {
		t.Errorf("host %s differs:\n%s", want.Id, d)
	}
	checkHidden(t, "host "+want.Id, got, want)
}

// checkHosts fails t unless the store lists exactly want, in that order.
func checkHosts(t *testing.T, s hearth.Store, want ...*hearth.Host) {
	t.Helper()
	got, err := s.Hosts(t.Context())
	if err != nil {
		t.Fatalf("Hosts: %v", err)
	}
	if gotIDs, wantIDs := hostIDs(got), hostIDs(want); !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("Hosts = %v, want %v", gotIDs, wantIDs)
	}
	for i := range want {
		checkHost(t, got[i], want[i])
	}
}

func hostIDs(hosts []*hearth.Host) []string {
	var ids []string
	for _, h := range hosts {
		ids = append(ids, h.Id)
	}
	return ids
}

// checkHostConflict fails t unless err wraps ErrConflict and names what
// is taken and the host that has it.
func checkHostConflict(t *testing.T, what string, err error, taken string, holder *hearth.Host) {
	t.Helper()
	if !errors.Is(err, hearth.ErrConflict) {
		t.Fatalf("%s = %v, want an error wrapping ErrConflict", what, err)
	}
	if !strings.Contains(err.Error(), taken) || !strings.Contains(err.Error(), holder.Id) {
		t.Errorf("%s = %q, want it to name %s and the host that has it (%s)", what, err, taken, holder.Id)
	}
}

// testHostRoundTrip: every member comes back, labels and facts included,
// and whatever text a label holds.
func testHostRoundTrip(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	h := newHost(t, "worker-1", "10.0.0.1", epoch)
	h.Labels["odd"] = odd // the store keeps any text, though Validate would refuse this one
	mustPutHost(t, s, h)
	bare := newHost(t, "", "worker-2.example.com", epoch.Add(time.Second)) // named after its address
	bare.Port, bare.KeyFile, bare.Labels, bare.Facts = 2222, "", nil, hearth.HostFacts{}
	mustPutHost(t, s, bare)

	for _, want := range []*hearth.Host{h, bare} {
		got, err := s.Host(ctx, want.Id)
		if err != nil {
			t.Fatalf("Host %s: %v", want.Id, err)
		}
		checkHost(t, got, want)
	}
	got, err := s.Host(ctx, h.Id)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	if !maps.Equal(got.Labels, h.Labels) || got.Facts != h.Facts || !got.CreationDateTime.Equal(h.CreationDateTime) {
		t.Errorf("Host %s: Labels, Facts, CreationDateTime = %v, %+v, %v; want %v, %+v, %v",
			h.Id, got.Labels, got.Facts, got.CreationDateTime, h.Labels, h.Facts, h.CreationDateTime)
	}
	if got, err := s.Host(ctx, "h-MISSING000000"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("Host(missing) = %v, %v; want an error wrapping ErrNotFound", got, err)
	}
}

// testHostsOrder: Hosts lists oldest first whatever the order they were
// stored in, and hosts created at the same instant in the order stored
// (not by id).
func testHostsOrder(t *testing.T, s hearth.Store) {
	if got, err := s.Hosts(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("Hosts of an empty store = %d hosts, %v; want none", len(got), err)
	}
	newest := newHost(t, "newest", "10.0.0.3", epoch.Add(2*time.Minute))
	oldest := newHost(t, "oldest", "10.0.0.1", epoch)
	middle := newHost(t, "middle", "10.0.0.2", epoch.Add(time.Minute))
	tieFirst := newHost(t, "tie-first", "10.0.0.4", epoch.Add(3*time.Minute))
	tieFirst.Id = "h-ZZZZZZZZZZZZZ"
	tieSecond := newHost(t, "tie-second", "10.0.0.5", epoch.Add(3*time.Minute))
	tieSecond.Id = "h-0000000000000"
	for _, h := range []*hearth.Host{newest, oldest, middle, tieFirst, tieSecond} {
		mustPutHost(t, s, h)
	}
	checkHosts(t, s, oldest, middle, newest, tieFirst, tieSecond)
}

// testHostDuplicate: a second host with a name, or an address and port,
// already in the inventory is ErrConflict naming which, and is not stored.
func testHostDuplicate(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	first := newHost(t, "worker-1", "10.0.0.1", epoch)
	mustPutHost(t, s, first)

	sameName := newHost(t, "worker-1", "10.0.0.2", epoch.Add(time.Minute))
	checkHostConflict(t, "PutHost with a name already used", s.PutHost(ctx, sameName), `"worker-1"`, first)
	sameAddr := newHost(t, "worker-2", "10.0.0.1", epoch.Add(time.Minute))
	checkHostConflict(t, "PutHost with an address and port already used", s.PutHost(ctx, sameAddr), "10.0.0.1:22", first)
	for _, h := range []*hearth.Host{sameName, sameAddr} {
		if _, err := s.Host(ctx, h.Id); !errors.Is(err, hearth.ErrNotFound) {
			t.Errorf("Host %s after a refused PutHost = %v, want ErrNotFound: it was stored", h.Id, err)
		}
	}
	checkHosts(t, s, first)

	// The same address on another port is another sshd: another host.
	otherPort := newHost(t, "worker-1b", "10.0.0.1", epoch.Add(2*time.Minute))
	otherPort.Port = 2222
	mustPutHost(t, s, otherPort)
	checkHosts(t, s, first, otherPort)
}

func testUpdateHost(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	h := newHost(t, "worker-1", "10.0.0.1", epoch)
	other := newHost(t, "worker-2", "10.0.0.2", epoch.Add(time.Minute))
	mustPutHost(t, s, h)
	mustPutHost(t, s, other)

	checked := epoch.Add(time.Hour)
	updated, err := s.UpdateHost(ctx, h.Id, func(h *hearth.Host) error {
		h.Name = "worker-1-renamed"
		h.Address, h.Port = "10.0.1.1", 2200
		h.MaxNodes = 4
		h.Labels["gpu"] = "a100"
		delete(h.Labels, "disk")
		h.Facts = hearth.HostFacts{OS: "linux", Arch: "arm64", CPUs: 64, MemoryMB: 262144, Java: "21.0.4", CheckedAt: checked}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateHost: %v", err)
	}
	if updated == nil || updated.Name != "worker-1-renamed" || updated.Facts.Arch != "arm64" {
		t.Fatalf("UpdateHost returned %+v, want the updated host", updated)
	}
	got, err := s.Host(ctx, h.Id)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	checkHost(t, got, updated)
	if !maps.Equal(got.Labels, map[string]string{"rack": "r1", "gpu": "a100"}) || got.Port != 2200 || !got.Facts.CheckedAt.Equal(checked) {
		t.Errorf("stored host %+v does not carry the update", got)
	}
	checkHosts(t, s, updated, other)

	// The old name and address are free again; the new ones are taken.
	reuse := newHost(t, "worker-1", "10.0.0.1", epoch.Add(2*time.Minute))
	mustPutHost(t, s, reuse)
	taken := newHost(t, "worker-1-renamed", "10.0.0.9", epoch.Add(3*time.Minute))
	checkHostConflict(t, "PutHost with a name taken by an update", s.PutHost(ctx, taken), `"worker-1-renamed"`, updated)

	// An update that changes nothing of its own name or address is no
	// conflict with itself.
	if _, err := s.UpdateHost(ctx, h.Id, func(h *hearth.Host) error { h.MaxNodes = 5; return nil }); err != nil {
		t.Fatalf("UpdateHost keeping name and address: %v", err)
	}
}

// testUpdateHostConflict: renaming or readdressing a host onto another
// host's name or address is ErrConflict and writes nothing.
func testUpdateHostConflict(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	h := newHost(t, "worker-1", "10.0.0.1", epoch)
	other := newHost(t, "worker-2", "10.0.0.2", epoch.Add(time.Minute))
	mustPutHost(t, s, h)
	mustPutHost(t, s, other)

	_, err := s.UpdateHost(ctx, h.Id, func(h *hearth.Host) error {
		h.Name = "worker-2"
		h.MaxNodes = 8
		return nil
	})
	checkHostConflict(t, "UpdateHost onto another host's name", err, `"worker-2"`, other)
	_, err = s.UpdateHost(ctx, h.Id, func(h *hearth.Host) error {
		h.Address = "10.0.0.2"
		h.MaxNodes = 8
		return nil
	})
	checkHostConflict(t, "UpdateHost onto another host's address", err, "10.0.0.2:22", other)
	checkHosts(t, s, h, other)
}

func testUpdateHostFnError(t *testing.T, s hearth.Store) {
	h := newHost(t, "unchanged", "10.0.0.1", epoch)
	mustPutHost(t, s, h)

	errRefused := errors.New("refused by fn")
	_, err := s.UpdateHost(t.Context(), h.Id, func(h *hearth.Host) error {
		h.Name = "changed"
		h.Address = "10.9.9.9"
		h.Labels["changed"] = "yes"
		h.Facts.CPUs = 1
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("UpdateHost = %v, want the error fn returned", err)
	}
	got, err := s.Host(t.Context(), h.Id)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	checkHost(t, got, h)
	// Neither the name nor the address was taken by the update that failed.
	again := newHost(t, "changed", "10.9.9.9", epoch.Add(time.Minute))
	mustPutHost(t, s, again)
}

func testUpdateHostNotFound(t *testing.T, s hearth.Store) {
	called := false
	_, err := s.UpdateHost(t.Context(), "h-MISSING000000", func(*hearth.Host) error {
		called = true
		return nil
	})
	if !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("UpdateHost(missing) = %v, want an error wrapping ErrNotFound", err)
	}
	if called {
		t.Error("UpdateHost(missing) called fn")
	}
}

func testConcurrentUpdateHost(t *testing.T, s hearth.Store) {
	h := newHost(t, "contended", "10.0.0.1", epoch)
	mustPutHost(t, s, h)

	// Each writer bumps a counter and adds its own label; a read-modify-write
	// that is not one transaction loses some of both.
	const writers, rounds = 8, 5
	contend(t, writers, rounds, func(w, r int) error {
		_, err := s.UpdateHost(t.Context(), h.Id, func(h *hearth.Host) error {
			h.Facts.CPUs++
			h.Labels[fmt.Sprintf("writer-%d-%d", w, r)] = "x"
			return nil
		})
		return err
	})

	got, err := s.Host(t.Context(), h.Id)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	if want := h.Facts.CPUs + writers*rounds; got.Facts.CPUs != want {
		t.Errorf("Facts.CPUs = %d, want %d: updates were lost", got.Facts.CPUs, want)
	}
	if want := len(h.Labels) + writers*rounds; len(got.Labels) != want {
		t.Errorf("got %d labels, want %d", len(got.Labels), want)
	}
	for w := range writers {
		for r := range rounds {
			if key := fmt.Sprintf("writer-%d-%d", w, r); got.Labels[key] != "x" {
				t.Errorf("update %s lost", key)
			}
		}
	}
}

func testDeleteHost(t *testing.T, s hearth.Store) {
	ctx := t.Context()
	gone := newHost(t, "to-delete", "10.0.0.1", epoch)
	kept := newHost(t, "to-keep", "10.0.0.2", epoch.Add(time.Minute))
	mustPutHost(t, s, gone)
	mustPutHost(t, s, kept)

	if err := s.DeleteHost(ctx, gone.Id); err != nil {
		t.Fatalf("DeleteHost: %v", err)
	}
	if _, err := s.Host(ctx, gone.Id); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("Host after delete = %v, want an error wrapping ErrNotFound", err)
	}
	if err := s.DeleteHost(ctx, gone.Id); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("DeleteHost a second time = %v, want an error wrapping ErrNotFound", err)
	}
	if err := s.DeleteHost(ctx, "h-MISSING000000"); !errors.Is(err, hearth.ErrNotFound) {
		t.Errorf("DeleteHost(never stored) = %v, want an error wrapping ErrNotFound", err)
	}
	checkHosts(t, s, kept)

	// The deleted host's name and address can be added again.
	back := newHost(t, "to-delete", "10.0.0.1", epoch.Add(2*time.Minute))
	mustPutHost(t, s, back)
	checkHosts(t, s, kept, back)
}

// testNodeHostId: the inventory host a node was placed on is kept, and
// survives updates.
func testNodeHostId(t *testing.T, s hearth.Store) {
	c, nodes := newCluster(t, "on hosts", epoch)
	nodes[0].HostId = "h-0123456789ABC"
	mustCreate(t, s, c, nodes)

	got, err := s.Node(t.Context(), nodes[0].Id)
	if err != nil {
		t.Fatalf("Node: %v", err)
	}
	checkNode(t, got, nodes[0])
	if got.HostId != nodes[0].HostId {
		t.Errorf("HostId = %q, want %q", got.HostId, nodes[0].HostId)
	}
	updated, err := s.UpdateNode(t.Context(), nodes[1].Id, func(n *hearth.Node) error { n.HostId = "h-ABCDEFGHIJKLM"; return nil })
	if err != nil {
		t.Fatalf("UpdateNode: %v", err)
	}
	all, err := s.Nodes(t.Context(), c.Id)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	checkNodes(t, all, []*hearth.Node{nodes[0], updated, nodes[2]})
}
