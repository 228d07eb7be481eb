package benchutil

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Meter measures a span for sides whose processes are not the command's
// children (a cluster's JVMs run under Hearth's agents): the whole
// machine's busy CPU time over the span, and the peak of the summed RSS of
// every process that refers to a directory (Referring), sampled.
type Meter struct {
	cpu0 float64
	stop chan struct{}
	done sync.WaitGroup
	peak float64
}

// StartMeter starts measuring; dir names the processes whose memory
// counts, sampled every interval.
func StartMeter(dir string, every time.Duration) *Meter {
	m := &Meter{cpu0: MachineCPU(), stop: make(chan struct{})}
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		for {
			m.peak = max(m.peak, RSSMiB(Referring(dir)))
			select {
			case <-m.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return m
}

// Stop ends the span: the machine's CPU seconds over it, and the peak RSS
// in MiB.
func (m *Meter) Stop() (cpuS, peakRSSMiB float64) {
	cpu := MachineCPU() - m.cpu0
	close(m.stop)
	m.done.Wait()
	return Round3(cpu), Round3(m.peak)
}

// MachineCPU is the seconds of CPU the whole machine has spent busy
// (/proc/stat: user, nice, system, irq, softirq, steal).
func MachineCPU() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal guest ...
	var ticks float64
	for i, v := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		ticks += n
	}
	return ticks / 100 // USER_HZ
}

// RSSMiB sums the resident memory of procs.
func RSSMiB(procs []Leftover) float64 {
	var kb float64
	for _, p := range procs {
		kb += KBField("/proc/"+strconv.Itoa(p.Pid)+"/status", "VmRSS:")
	}
	return kb / 1024
}

// KBField reads the "<field> <n> kB" line of a /proc file (status,
// smaps_rollup); 0 when the file or the line is missing.
func KBField(path, field string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return v
		}
	}
	return 0
}
