package agent

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSampler: a busy child of the sampled root shows as CPU of the node
// and of the daemon it belongs to; host figures are filled in.
func TestSampler(t *testing.T) {
	busy := exec.Command("sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { busy.Process.Kill(); busy.Wait() }()
	s := newSampler(t.TempDir(), func(string) float64 { return 42 })
	daemons := map[string]int{"worker": busy.Process.Pid}
	first := s.sample(os.Getpid(), daemons)
	if first.NodeCPUPercent != 0 || first.HostCores < 1 || first.MemTotalMB <= 0 || first.DiskTotalMB <= 0 {
		t.Errorf("first sample %+v: want no CPU rate yet, host figures filled", first)
	}
	time.Sleep(time.Second)
	m := s.sample(os.Getpid(), daemons)
	if m.NodeCPUPercent < 50 || len(m.Daemons) != 1 || m.Daemons[0].CPUPercent < 50 || m.Daemons[0].HeapUsedMB != 42 {
		t.Errorf("sample with a busy child %+v, daemons %+v: want its core's CPU in the node and in the worker", m, m.Daemons)
	}
	if m.HostCPUPercent <= 0 || m.MemUsedMB <= 0 || m.NodeRSSMB <= 0 {
		t.Errorf("host CPU %.1f%%, memory used %d MB, node RSS %.1f MB: want all positive", m.HostCPUPercent, m.MemUsedMB, m.NodeRSSMB)
	}
}

func TestHeapFromPrometheus(t *testing.T) {
	page := `metrics_master_workers_Value{type="gauges"} 2
metrics_jvm_heap_committed_Value{type="gauges"} 536870912
metrics_jvm_heap_used_Value{type="gauges"} 1.048576E8
`
	if got := heapFromPrometheus(strings.NewReader(page)); got != 100 {
		t.Errorf("heap %v MB, want 100", got)
	}
	if got := heapFromPrometheus(strings.NewReader("nothing here\n")); got != 0 {
		t.Errorf("heap of a page without it: %v", got)
	}
}
