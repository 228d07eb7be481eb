package control

import (
	"testing"

	"github.com/hearthcluster/hearth"
)

func TestSparkURLsAndEnsemble(t *testing.T) {
	m := func(id, host string, base int) *hearth.Node {
		return &hearth.Node{Id: id, Role: hearth.RoleMaster, Host: host, State: hearth.NodeRunning, Ports: hearth.NodePorts{
			MasterPort: base, ZooKeeperPort: base + 1, ZooKeeperPeerPort: base + 2, ZooKeeperElectionPort: base + 3}}
	}
	core := &hearth.Node{Id: "c", Role: hearth.RoleCore, State: hearth.NodeRunning}
	a, b, c := m("a", "10.0.0.1", 7000), m("b", "10.0.0.2", 7100), &hearth.Node{Id: "c0", Role: hearth.RoleMaster}
	if _, _, ok := sparkURLs(masterNodes([]*hearth.Node{a, core, b, c})); ok {
		t.Errorf("URLs while a master has no ports yet")
	}
	c = m("c0", "10.0.0.3", 7200)
	nodes := []*hearth.Node{a, core, b, c}
	url, zk, ok := sparkURLs(masterNodes(nodes))
	if !ok || url != "spark://10.0.0.1:7000,10.0.0.2:7100,10.0.0.3:7200" || zk != "10.0.0.1:7001,10.0.0.2:7101,10.0.0.3:7201" {
		t.Errorf("sparkURLs = %q, %q, %v", url, zk, ok)
	}
	p := zooKeeperPlan(b, masterNodes(nodes))
	if p == nil || p.Id != 2 || p.Port != 7101 || len(p.Servers) != 3 || p.Servers[2] != (hearth.ZooKeeperServer{Id: 3, Host: "10.0.0.3", PeerPort: 7202, ElectionPort: 7203}) {
		t.Errorf("zooKeeperPlan(b) = %+v", p)
	}
	if zooKeeperPlan(core, masterNodes(nodes)) != nil {
		t.Errorf("a CORE node got a ZooKeeper plan")
	}
	one, _, _ := sparkURLs(masterNodes([]*hearth.Node{a, core}))
	if one != "spark://10.0.0.1:7000" {
		t.Errorf("single master URL %q", one)
	}

	// Steps go to the first live master; the ALIVE one is the active.
	a.State = hearth.NodeFailed
	if r := stepRunner(nodes); r != b {
		t.Errorf("step runner %v, want b", r)
	}
	c.Observed.Master = &hearth.MasterStatus{Status: "ALIVE"}
	b.Observed.Master = &hearth.MasterStatus{Status: "STANDBY"}
	if am := activeMaster(nodes); am != c {
		t.Errorf("active master %v, want c", am)
	}
}
