package agent

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

// TestKilledAfterServingIsNotACrashLoop: a daemon killed again and again
// after it served (a chaos test's worker JVM) comes back each time after
// the shortest backoff and never counts as crash-looping; only runs that
// die before they serve do.
func TestKilledAfterServingIsNotACrashLoop(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.MkdirAll(filepath.Join(dir, "run"), 0o755)
	l, err := net.Listen("tcp", "127.0.0.1:0") // what the daemon "serves"
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := newDaemon("worker", spark.Command{Args: []string{"sleep", "60"}}, dir, "i-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	d.readyAddr = l.Addr().String()
	go d.supervise()
	defer d.stop()
	pid := 0
	for kill := 1; kill <= crashLoopAfter+1; kill++ {
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := d.status() // the agent's heartbeat: sees it serve
			if st.Running && st.Ready && st.PID != pid {
				pid = st.PID
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: the daemon did not come back within 5s (it restarts at once after serving): %+v", kill, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	time.Sleep(100 * time.Millisecond)
	if d.crashLooping() {
		t.Errorf("a daemon killed %d times after serving counts as crash-looping", crashLoopAfter+1)
	}
}
