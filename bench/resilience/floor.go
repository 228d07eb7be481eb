package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
	"github.com/hearthcluster/hearth/provision/local"
	"github.com/hearthcluster/hearth/spark"
)

// byHand is the floor: what Spark's documentation has a user set up for
// high availability, with no Hearth — three ZooKeeper servers
// (QuorumPeerMain from Spark's jars, with Hearth's tick and session limits,
// no authentication), three masters started with spark-class in ZOOKEEPER
// recovery mode, and one worker given all three. Recovery is by hand too,
// at once: a killed master or worker is started again the instant it dies.
type byHand struct {
	dir, sparkHome string
	java           string
	hc             *http.Client

	zkPorts    [3][3]int // client, peer, election
	masterRPC  [3]int
	masterUI   [3]int
	masterURL  string
	zooKeeper  string
	workerSeq  int
	mu         sync.Mutex
	zk, master [3]*benchutil.Group
	worker     *benchutil.Group
}

func newByHand(dir, sparkHome string) (*byHand, error) {
	b := &byHand{dir: dir, sparkHome: sparkHome, hc: &http.Client{Timeout: 2 * time.Second}}
	java, ok := spark.JavaBinary(map[string]string{"JAVA_HOME": os.Getenv("JAVA_HOME")})
	if !ok {
		return nil, fmt.Errorf("no java on PATH")
	}
	b.java = java
	ports, err := local.FreePorts(15)
	if err != nil {
		return nil, err
	}
	var urls, zks []string
	for i := range 3 {
		b.zkPorts[i] = [3]int{ports[i*5], ports[i*5+1], ports[i*5+2]}
		b.masterRPC[i], b.masterUI[i] = ports[i*5+3], ports[i*5+4]
		urls = append(urls, fmt.Sprintf("127.0.0.1:%d", b.masterRPC[i]))
		zks = append(zks, fmt.Sprintf("127.0.0.1:%d", b.zkPorts[i][0]))
	}
	b.masterURL, b.zooKeeper = "spark://"+strings.Join(urls, ","), strings.Join(zks, ",")
	return b, nil
}

// start brings the ensemble, the masters and the worker up and waits until
// one master is ALIVE with the worker.
func (b *byHand) start(ctx context.Context) error {
	for i := range 3 {
		dir := filepath.Join(b.dir, fmt.Sprintf("zk%d", i+1))
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			return err
		}
		os.WriteFile(filepath.Join(dir, "data", "myid"), fmt.Appendf(nil, "%d\n", i+1), 0o644)
		cfg := fmt.Sprintf("tickTime=1000\ninitLimit=30\nsyncLimit=10\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nminSessionTimeout=2000\nmaxSessionTimeout=10000\nadmin.enableServer=false\n",
			filepath.Join(dir, "data"), b.zkPorts[i][0])
		for j := range 3 {
			cfg += fmt.Sprintf("server.%d=127.0.0.1:%d:%d\n", j+1, b.zkPorts[j][1], b.zkPorts[j][2])
		}
		if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
			return err
		}
		cmd := exec.Command(b.java, "-Xmx128m", "-XX:+UseSerialGC", "-cp", filepath.Join(b.sparkHome, "jars", "*"), spark.ZooKeeperMain, filepath.Join(dir, "zoo.cfg"))
		cmd.Env = benchutil.CleanEnv()
		g, err := benchutil.StartGroup(fmt.Sprintf("zookeeper %d", i+1), cmd, filepath.Join(dir, "zookeeper.out"))
		if err != nil {
			return err
		}
		b.zk[i] = g
	}
	for i := range 3 {
		if err := b.startMaster(i); err != nil {
			return err
		}
	}
	if err := b.startWorker(); err != nil {
		return err
	}
	_, err := b.await(ctx, 3*time.Minute, "a master ALIVE with the worker", func(i int, m masterJSON) bool { return m.Status == "ALIVE" && m.alive() == 1 })
	return err
}

// node makes a Spark node directory under the floor's and returns the
// environment spark-class needs there.
func (b *byHand) node(name string) ([]string, string, error) {
	dir := filepath.Join(b.dir, name)
	conf, logs, work, tmp := filepath.Join(dir, "conf"), filepath.Join(dir, "logs"), filepath.Join(dir, "work"), filepath.Join(dir, "tmp")
	for _, d := range []string{conf, logs, work, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	env := append(benchutil.CleanEnv(), "SPARK_HOME="+b.sparkHome, "SPARK_CONF_DIR="+conf, "SPARK_LOG_DIR="+logs,
		"SPARK_LOCAL_DIRS="+tmp, "SPARK_WORKER_DIR="+work, "SPARK_LOCAL_IP=127.0.0.1", "SPARK_DAEMON_MEMORY=512m")
	return env, dir, nil
}

func (b *byHand) startMaster(i int) error {
	env, dir, err := b.node(fmt.Sprintf("master%d", i+1))
	if err != nil {
		return err
	}
	env = append(env, "SPARK_MASTER_OPTS=-Dspark.deploy.recoveryMode=ZOOKEEPER -Dspark.deploy.zookeeper.url="+b.zooKeeper+" -Dspark.deploy.zookeeper.dir=/floor")
	cmd := exec.Command(filepath.Join(b.sparkHome, "bin", "spark-class"), "org.apache.spark.deploy.master.Master",
		"--host", "127.0.0.1", "--port", strconv.Itoa(b.masterRPC[i]), "--webui-port", strconv.Itoa(b.masterUI[i]))
	cmd.Env, cmd.Dir = env, dir
	g, err := benchutil.StartGroup(fmt.Sprintf("master %d", i+1), cmd, filepath.Join(dir, "master.out"))
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.master[i] = g
	b.mu.Unlock()
	return nil
}

// startWorker starts a new worker, on fresh ports (a new worker id).
func (b *byHand) startWorker() error {
	b.workerSeq++
	env, dir, err := b.node(fmt.Sprintf("worker%d", b.workerSeq))
	if err != nil {
		return err
	}
	ports, err := local.FreePorts(2)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(b.sparkHome, "bin", "spark-class"), "org.apache.spark.deploy.worker.Worker",
		"--host", "127.0.0.1", "--port", strconv.Itoa(ports[0]), "--webui-port", strconv.Itoa(ports[1]),
		"--cores", "1", "--memory", "1024m", "--work-dir", filepath.Join(dir, "work"), b.masterURL)
	cmd.Env, cmd.Dir = env, dir
	g, err := benchutil.StartGroup(fmt.Sprintf("worker %d", b.workerSeq), cmd, filepath.Join(dir, "worker.out"))
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.worker = g
	b.mu.Unlock()
	return nil
}

// masterJSON is the part of a master's /json the floor reads.
type masterJSON struct {
	Status  string `json:"status"`
	Workers []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"workers"`
}

func (m masterJSON) alive() int {
	k := 0
	for _, w := range m.Workers {
		if w.State == "ALIVE" {
			k++
		}
	}
	return k
}

func (m masterJSON) aliveIDs() map[string]bool {
	ids := map[string]bool{}
	for _, w := range m.Workers {
		if w.State == "ALIVE" {
			ids[w.ID] = true
		}
	}
	return ids
}

func (b *byHand) fetch(ctx context.Context, i int) (masterJSON, error) {
	var j masterJSON
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/json/", b.masterUI[i]), nil)
	if err != nil {
		return j, err
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return j, err
	}
	defer resp.Body.Close()
	return j, json.NewDecoder(resp.Body).Decode(&j)
}

// await polls the three masters every 100 ms until ok holds for one of
// them, and returns its index.
func (b *byHand) await(ctx context.Context, timeout time.Duration, what string, ok func(i int, m masterJSON) bool) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		for i := range 3 {
			if m, err := b.fetch(ctx, i); err == nil && ok(i, m) {
				return i, nil
			}
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("by hand: no %s after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// failover kills the active master and times until another is ALIVE with
// the worker; then it starts the killed one again (untimed) and waits for
// it to stand by.
func (b *byHand) failover(ctx context.Context) (float64, error) {
	active, err := b.await(ctx, time.Minute, "ALIVE master", func(i int, m masterJSON) bool { return m.Status == "ALIVE" && m.alive() == 1 })
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	g := b.master[active]
	b.mu.Unlock()
	syscall.Kill(-g.Pgid(), syscall.SIGKILL)
	t0 := time.Now()
	if _, err := b.await(ctx, 3*time.Minute, "new ALIVE master", func(i int, m masterJSON) bool {
		return i != active && m.Status == "ALIVE" && m.alive() == 1
	}); err != nil {
		return 0, err
	}
	took := time.Since(t0).Seconds()
	<-g.Exited()
	if err := b.startMaster(active); err != nil {
		return 0, err
	}
	_, err = b.await(ctx, 2*time.Minute, "restarted master standing by", func(i int, m masterJSON) bool { return i == active && m.Status == "STANDBY" })
	return took, err
}

// restartWorker kills the worker and at once starts a new one by hand; it
// times until the active master has the new worker ALIVE.
func (b *byHand) restartWorker(ctx context.Context) (float64, error) {
	var before map[string]bool
	if _, err := b.await(ctx, time.Minute, "ALIVE master", func(i int, m masterJSON) bool {
		before = m.aliveIDs()
		return m.Status == "ALIVE" && len(before) == 1
	}); err != nil {
		return 0, err
	}
	b.mu.Lock()
	g := b.worker
	b.mu.Unlock()
	syscall.Kill(-g.Pgid(), syscall.SIGKILL)
	t0 := time.Now()
	if err := b.startWorker(); err != nil {
		return 0, err
	}
	if _, err := b.await(ctx, 2*time.Minute, "new worker", func(i int, m masterJSON) bool {
		for id := range m.aliveIDs() {
			if m.Status == "ALIVE" && !before[id] {
				return true
			}
		}
		return false
	}); err != nil {
		return 0, err
	}
	took := time.Since(t0).Seconds()
	<-g.Exited()
	return took, nil
}

// stop stops every process of the floor.
func (b *byHand) stop() error {
	b.mu.Lock()
	groups := []*benchutil.Group{b.worker}
	groups = append(groups, b.master[:]...)
	groups = append(groups, b.zk[:]...)
	b.mu.Unlock()
	var errs []string
	for _, g := range groups {
		if g == nil {
			continue
		}
		if err := g.Stop(10 * time.Second); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
