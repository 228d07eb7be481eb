//go:build integration

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/internal/testhosts"
)

// freePortOn returns a port free now on ip.
func freePortOn(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// hostProcesses lists what runs on a test host besides its sshd.
func hostProcesses(h *testhosts.Host) []string {
	pids, _ := h.Pids()
	var out []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		line := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		if line == "" || strings.Contains(line, "sshd") || strings.HasPrefix(line, "unshare ") {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s", pid, line))
	}
	return out
}

// TestSSHProvisioner runs clusters on five machines that the control plane
// reaches only over SSH and TLS: network namespaces on a bridge, each with
// the real OpenSSH sshd, a work root of its own, and (one of them) no
// Java. Nothing of Hearth is installed on them beforehand.
func TestSSHProvisioner(t *testing.T) {
	ctx := context.Background()
	hosts, err := testhosts.Start(ctx, t.TempDir(), testhosts.Options{Hosts: 5, NoJava: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // last: after the env has terminated its clusters
		for _, h := range hosts.Hosts {
			if left := hostProcesses(h); len(left) > 0 {
				t.Errorf("%s: processes left:\n%s", h.Name, strings.Join(left, "\n"))
			}
		}
		if err := hosts.Close(); err != nil {
			t.Error(err)
		}
	})
	gw := hosts.GatewayIP
	s3Addr := net.JoinHostPort(gw, freePortOn(t, gw))
	e := newEnvArgs(t, []string{
		"--advertise-url", "https://" + net.JoinHostPort(gw, freePortOn(t, gw)),
		// The hosts read s3:// (staged files, data) from the built-in store.
		"--s3-listen", s3Addr,
		"--heartbeat-timeout", "10s",
	})
	e.s3 = "http://" + s3Addr

	addHost := func(h *testhosts.Host, extra ...string) result {
		args := append([]string{"hosts", "add", h.Addr, "--name", h.Name, "--user", h.User,
			"--key-file", hosts.ClientKeyFile, "--work-dir", filepath.Join(h.WorkRoot, "hearth")}, extra...)
		return e.hearth(args...)
	}

	// Host keys are never trusted silently.
	func() {
		h := hosts.Hosts[0]
		r := addHost(h)
		if r.code != 2 || !strings.Contains(r.stderr, h.HostKeyFingerprint) || !strings.Contains(r.stderr, "--accept-host-key") {
			t.Fatalf("hosts add of an unknown key: exit %d, %q; want exit 2 showing %s and how to accept it", r.code, r.stderr, h.HostKeyFingerprint)
		}
		if r := addHost(h, "--accept-host-key", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); r.code != 2 || !strings.Contains(r.stderr, h.HostKeyFingerprint) {
			t.Fatalf("hosts add with the wrong fingerprint: exit %d, %q", r.code, r.stderr)
		}
		if list := e.ok("hosts", "list", "--json"); strings.Contains(list, h.Addr) {
			t.Fatalf("a refused host is in the inventory:\n%s", list)
		}
		e.ok("hosts", "add", h.Addr, "--name", h.Name, "--user", h.User, "--key-file", hosts.ClientKeyFile,
			"--work-dir", filepath.Join(h.WorkRoot, "hearth"), "--known-hosts", hosts.KnownHostsFile)
		if r := addHost(h, "--accept-host-key", h.HostKeyFingerprint); r.code != 4 {
			t.Errorf("adding %s twice: exit %d, %q; want 4 (conflict)", h.Name, r.code, r.stderr)
		}
	}()

	// A host without Java fails its node's bootstrap, saying how to fix it.
	func() {
		h := hosts.Hosts[4]
		e.ok("hosts", "add", h.Addr, "--name", h.Name, "--user", h.User, "--key-file", hosts.ClientKeyFile,
			"--work-dir", filepath.Join(h.WorkRoot, "hearth"), "--accept-host-key", h.HostKeyFingerprint)
		// The inventory's other host is taken by a single-node cluster, so
		// this one lands on the host without Java.
		// EMR API callers choose the provisioner with a tag.
		keyID, secret := e.emrAccessKey()
		block := newAwsV2(t, e, keyID, secret).createCluster("--name", "placeholder", "--release-label", "spark-4.0.1",
			"--instance-type", "m5.xlarge", "--instance-count", "1", "--tags", "hearth:provisioner=ssh")
		e.waitFor(block, "the placeholder to be placed", func(v *control.ClusterView) bool {
			return v.Cluster.Provisioner == "ssh" && v.Nodes[0].HostId != ""
		})
		id := e.stepCreateCluster("--provisioner", "ssh", "--instance-type", "m5.xlarge", "--instance-count", "1")
		v := e.waitFor(id, "the cluster to fail", func(v *control.ClusterView) bool { return v.Cluster.Status.State.Ended() })
		reason := v.Cluster.Status.StateChangeReason
		if v.Cluster.Status.State != hearth.ClusterTerminatedWithErrors || reason.Code != hearth.ReasonBootstrapFailure ||
			!strings.Contains(reason.Message, "Java") || !strings.Contains(reason.Message, h.Addr) || !strings.Contains(reason.Message, "apt-get install") {
			t.Errorf("cluster on a host without Java: %s %s %q; want BOOTSTRAP_FAILURE naming Java, the host and how to install it", v.Cluster.Status.State, reason.Code, reason.Message)
		}
		if v.Nodes[0].HostId == "" || v.Nodes[0].Host != h.Addr {
			t.Errorf("node placed on %q, want %s", v.Nodes[0].Host, h.Addr)
		}
		e.ok("terminate-clusters", "--cluster-ids", block)
		e.ok("wait", "cluster-terminated", "--cluster-id", block)
		e.ok("hosts", "remove", h.Name)
	}()

	for _, h := range hosts.Hosts[1:4] {
		e.ok("hosts", "add", h.Addr, "--name", h.Name, "--user", h.User, "--key-file", hosts.ClientKeyFile,
			"--work-dir", filepath.Join(h.WorkRoot, "hearth"), "--accept-host-key", h.HostKeyFingerprint)
	}
	list := decodeJSON[struct{ Hosts []control.HostView }](t, e.ok("hosts", "list", "--json")).Hosts
	if len(list) != 4 {
		t.Fatalf("hosts list: %d hosts, want 4", len(list))
	}
	for _, h := range list {
		if h.Facts.CPUs < 1 || h.Facts.MemoryMB < 1024 || h.Facts.Arch == "" || !strings.HasPrefix(h.Facts.Java, "17") {
			t.Errorf("host %s: facts %+v; want CPUs, memory, arch and Java 17", h.Name, h.Facts)
		}
	}
	if r := e.hearth("create-cluster", "--provisioner", "ssh", "--instance-type", "m5.xlarge", "--instance-count", "5"); r.code != 2 || !strings.Contains(r.stderr, "5 nodes") {
		t.Errorf("a cluster larger than the inventory: exit %d, %q; want exit 2 saying what is missing", r.code, r.stderr)
	}

	// 1 master + 2 workers across three of the four hosts, each running a
	// bootstrap script that exists only on this machine (it is staged).
	boot := stepsWriteFile(t, t.TempDir(), "boot.sh", "#!/bin/bash\necho \"bootstrapped $1 on $(hostname)\"\n")
	id := e.stepCreateCluster("--provisioner", "ssh", "--instance-type", "m5.xlarge", "--instance-count", "3",
		"--bootstrap-actions", "Path="+boot+",Name=Hello,Args=[staged]", "--wait")
	if out := e.ok("logs", "--cluster-id", id, "--bootstrap"); strings.Count(out, "bootstrapped staged on ") != 3 {
		t.Errorf("logs --bootstrap shows %d outputs of the staged script, want 3:\n%s", strings.Count(out, "bootstrapped staged on "), out)
	}
	v := e.describe(id)
	if v.Cluster.Status.State != hearth.ClusterWaiting || aliveWorkers(v) != 2 {
		t.Fatalf("cluster %s, %d workers alive; want WAITING with 2", v.Cluster.Status.State, aliveWorkers(v))
	}
	onHost := map[string]string{} // address -> node id
	var master *hearth.Node
	for _, n := range v.Nodes {
		onHost[n.Host] = n.Id
		if n.Role == hearth.RoleMaster {
			master = n
		}
	}
	if len(onHost) != 3 || master == nil || !strings.Contains(v.Cluster.Spark.MasterURL, master.Host) {
		t.Fatalf("nodes on %v, master %s; want 3 distinct hosts", onHost, v.Cluster.Spark.MasterURL)
	}

	// Word count of a local script on data in S3: the script is staged in
	// the object store and fetched by the master node's agent.
	s3env := e.s3Env()
	aws := newAwsV2(t, e, s3env["AWS_ACCESS_KEY_ID"], s3env["AWS_SECRET_ACCESS_KEY"])
	text := stepsWriteFile(t, t.TempDir(), "book.txt", wordcountText)
	aws.ok("s3", "mb", "s3://ssh-data")
	aws.ok("s3", "cp", text, "s3://ssh-data/book.txt")
	wc := e.stepAdd(id, sparkStep("wc", stepsWordcount(t), "s3://ssh-data/book.txt"))[0]
	e.stepAwaitEnd(id, wc, hearth.StepCompleted, 4*time.Minute)
	checkWordCounts(t, e.stepLog(id, wc, "stdout"), wordcountText)
	if st := e.stepDescribe(id, wc); !slices.ContainsFunc(st.Config.Args, func(a string) bool { return strings.HasPrefix(a, "s3://"+control.StagingBucket+"/") }) {
		t.Errorf("step args %v: the local script was not staged", st.Config.Args)
	}

	// The UI gateway reaches the master's UI on its host; a direct request
	// from here is refused (it carries no gateway signature).
	if m := decodeJSON[masterJSON](t, e.gatewayGet("/clusters/"+id+"/ui/json/")); m.Status != "ALIVE" || m.AliveWorkers != 2 {
		t.Errorf("master /json through the gateway: %s, %d workers", m.Status, m.AliveWorkers)
	}
	if resp, err := http.Get(v.Cluster.Spark.UIURL + "json/"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("direct request to the master UI on its host: %v %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	e.checkNodeShell(id, v.Cluster.Spark.MasterURL)
	// On the master node, its Spark just works.
	if out := e.ok("ssh", "--cluster-id", id, "--command", `spark-submit "$SPARK_HOME/examples/src/main/python/pi.py" 4 2>/dev/null`); !strings.Contains(out, "Pi is roughly") {
		t.Errorf("spark-submit in hearth ssh: %q", out)
	}

	// spark-submit from outside the hosts, with the cluster's credentials.
	sc := decodeJSON[struct{ PropertiesFile string }](t, e.ok("spark-client", "--cluster-id", id, "--output-dir", t.TempDir()))
	sub := exec.Command(filepath.Join(sparkHome(t), "bin", "spark-submit"), "--properties-file", sc.PropertiesFile,
		"--conf", "spark.driver.host="+gw, "testdata/security/sum.py")
	if out, err := sub.CombinedOutput(); err != nil || !strings.Contains(string(out), "SUM 4950") {
		t.Errorf("spark-submit from outside: %v\n%s", err, tailString(string(out), 2000))
	}

	// A worker's machine drops off the network mid-job, for longer than
	// the heartbeat timeout: the node fails, a replacement starts on the
	// spare host, and the job's answer is right. When the link comes back,
	// what still runs there is stopped.
	slow, _ := filepath.Abs("testdata/ssh/slowsum.py")
	step := e.stepAdd(id, sparkStep("slowsum", slow, "80"))[0]
	e.stepAwait(id, step, "the step to run", 2*time.Minute, func(st *hearth.Step) bool { return st.Status.State == hearth.StepRunning })
	time.Sleep(8 * time.Second)
	var victim *testhosts.Host
	var lost string
	for _, h := range hosts.Hosts[1:3] {
		if n := onHost[h.Addr]; n != "" && n != master.Id {
			victim, lost = h, n
			break
		}
	}
	if victim == nil {
		t.Fatalf("no worker on hosts 1-2: %v", onHost)
	}
	if err := victim.LinkDown(); err != nil {
		t.Fatal(err)
	}
	partitioned := time.Now()
	spare := hosts.Hosts[3]
	e.waitFor(id, "a replacement worker on the spare host", func(v *control.ClusterView) bool {
		failed, replaced := false, false
		for _, n := range v.Nodes {
			failed = failed || (n.Id == lost && n.State == hearth.NodeFailed)
			replaced = replaced || (n.Host == spare.Addr && n.State == hearth.NodeRunning)
		}
		return failed && replaced && aliveWorkers(v) == 2
	})
	t.Logf("partitioned worker replaced after %.1fs", time.Since(partitioned).Seconds())
	e.stepAwaitEnd(id, step, hearth.StepCompleted, 4*time.Minute)
	if out := e.stepLog(id, step, "stdout"); !strings.Contains(out, "SUM 3160") {
		t.Errorf("slowsum after losing a worker: %q; want SUM 3160", out)
	}
	if err := victim.LinkUp(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(hostProcesses(victim)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the failed node's processes still run on %s after its link came back:\n%s", victim.Name, strings.Join(hostProcesses(victim), "\n"))
		}
		time.Sleep(time.Second)
	}

	e.ok("terminate-clusters", "--cluster-ids", id)
	e.ok("wait", "cluster-terminated", "--cluster-id", id)
	for _, h := range hosts.Hosts {
		if left := hostProcesses(h); len(left) > 0 {
			t.Errorf("%s after terminate: %s", h.Name, strings.Join(left, "; "))
		}
	}
}
