package hearth

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// InstanceType is a machine size: EC2's, or one of Hearth's local.* sizes
// meant for clusters of processes on one host.
type InstanceType struct {
	Name     string
	VCPU     int
	MemoryMB int
	// NormalizationFactor is EMR's weight for NormalizedInstanceHours.
	NormalizationFactor int
	// HourlyUSD is the on-demand price in us-east-1, 0 when not known.
	HourlyUSD float64
}

// SparkWorker is what a worker on this instance type offers Spark by default:
// every vCPU, and the memory EMR gives YARN on that type (75%) — the rest is
// left to the OS and daemons. Local sizes are Spark budgets already and are
// offered whole.
func (t InstanceType) SparkWorker() NodeResources {
	if strings.HasPrefix(t.Name, "local.") {
		return NodeResources{Cores: t.VCPU, MemoryMB: t.MemoryMB}
	}
	return NodeResources{Cores: t.VCPU, MemoryMB: t.MemoryMB * 3 / 4}
}

// sizeFactor maps an EC2 size suffix to EMR's normalization factor.
var sizeFactor = map[string]int{
	"medium": 1, "large": 4, "xlarge": 8, "2xlarge": 16, "4xlarge": 32,
	"8xlarge": 64, "12xlarge": 96, "16xlarge": 128,
}

var instanceTypes = map[string]InstanceType{}

func init() {
	type row struct {
		name       string
		vcpu, memG int
		usd        float64
	}
	for _, r := range []row{
		{"m3.xlarge", 4, 15, 0.266}, {"m3.2xlarge", 8, 30, 0.532},
		{"m4.large", 2, 8, 0.10}, {"m4.xlarge", 4, 16, 0.20}, {"m4.2xlarge", 8, 32, 0.40},
		{"m5.large", 2, 8, 0.096}, {"m5.xlarge", 4, 16, 0.192}, {"m5.2xlarge", 8, 32, 0.384}, {"m5.4xlarge", 16, 64, 0.768},
		{"m6g.xlarge", 4, 16, 0.154}, {"m6g.2xlarge", 8, 32, 0.308},
		{"m6i.xlarge", 4, 16, 0.192}, {"m6i.2xlarge", 8, 32, 0.384},
		{"m7g.xlarge", 4, 16, 0.1632}, {"m7g.2xlarge", 8, 32, 0.3264},
		{"c5.xlarge", 4, 8, 0.17}, {"c5.2xlarge", 8, 16, 0.34}, {"c5.4xlarge", 16, 32, 0.68},
		{"r5.xlarge", 4, 32, 0.252}, {"r5.2xlarge", 8, 64, 0.504}, {"r5.4xlarge", 16, 128, 1.008},
		{"r6g.xlarge", 4, 32, 0.2016}, {"r6g.2xlarge", 8, 64, 0.4032},
	} {
		mem := r.memG * 1024
		size := r.name[strings.IndexByte(r.name, '.')+1:]
		instanceTypes[r.name] = InstanceType{Name: r.name, VCPU: r.vcpu, MemoryMB: mem, NormalizationFactor: sizeFactor[size], HourlyUSD: r.usd}
	}
	for _, t := range []InstanceType{
		{Name: "local.small", VCPU: 1, MemoryMB: 1024, NormalizationFactor: 1},
		{Name: "local.medium", VCPU: 2, MemoryMB: 2048, NormalizationFactor: 2},
		{Name: "local.large", VCPU: 4, MemoryMB: 4096, NormalizationFactor: 4},
	} {
		instanceTypes[t.Name] = t
	}
}

// LookupInstanceType returns the named instance type or a validation error
// for field that lists the known ones.
func LookupInstanceType(field, name string) (InstanceType, error) {
	if t, ok := instanceTypes[name]; ok {
		return t, nil
	}
	return InstanceType{}, Invalid(field, fmt.Sprintf("%q", name),
		"unknown instance type; known types: "+strings.Join(InstanceTypeNames(), ", "))
}

// InstanceTypeNames lists every known instance type, local sizes first.
func InstanceTypeNames() []string {
	names := make([]string, 0, len(instanceTypes))
	for n := range instanceTypes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		li, lj := strings.HasPrefix(names[i], "local."), strings.HasPrefix(names[j], "local.")
		if li != lj {
			return li
		}
		ti, tj := instanceTypes[names[i]], instanceTypes[names[j]]
		if li && ti.VCPU != tj.VCPU {
			return ti.VCPU < tj.VCPU
		}
		return names[i] < names[j]
	})
	return names
}

// HostCapacity is what a machine running several nodes of a cluster really has.
type HostCapacity struct {
	CPUs     int
	MemoryMB int
	// CommittedMB is the memory already promised to the clusters running
	// on the host (their workers and daemon JVMs), CommittedBy how many
	// clusters those are.
	CommittedMB, CommittedBy int
}

// HostMemoryMB is the host memory cluster c holds while it runs: its
// workers' memory and a heap for each of its Spark daemons.
func (c *Cluster) HostMemoryMB() int {
	masterWorks := c.MasterRunsWorker()
	total := 0
	for _, g := range c.InstanceGroups {
		total += g.RequestedInstanceCount * DaemonHeapMB
		if g.InstanceGroupType != RoleMaster || masterWorks {
			total += g.RequestedInstanceCount * g.Spark.MemoryMB
		}
	}
	if masterWorks {
		total += DaemonHeapMB
	}
	return total
}

// Local clusters reserve this much host memory for the OS, Hearth itself and
// each Spark daemon JVM before handing the rest to Spark workers.
const (
	HostReserveMB    = 2048
	DaemonHeapMB     = 512
	MinWorkerMemory  = 512
	memoryRoundingMB = 128
)

// FitToHost scales the Spark resources of a cluster whose nodes all share one
// host so Spark is never promised more than the host has: each worker gets
// at most the host's CPUs, and all workers together at most the host's
// memory less HostReserveMB and a DaemonHeapMB per daemon. It returns a note
// for each reduction, or a validation error when even MinWorkerMemory per
// worker does not fit.
func FitToHost(c *Cluster, h HostCapacity) ([]string, error) {
	masterWorks := c.MasterRunsWorker()
	workers, daemons, asked := 0, 0, 0
	for _, g := range c.InstanceGroups {
		daemons += g.RequestedInstanceCount
		if g.InstanceGroupType != RoleMaster || masterWorks {
			workers += g.RequestedInstanceCount
			asked += g.RequestedInstanceCount * g.Spark.MemoryMB
		}
	}
	if masterWorks {
		daemons++ // the master node runs a master and a worker daemon
	}
	budget := h.MemoryMB - h.CommittedMB - HostReserveMB - DaemonHeapMB*daemons
	if budget < workers*MinWorkerMemory {
		has := fmt.Sprintf("this host has %d MiB of memory", h.MemoryMB)
		fix := "use fewer workers"
		if h.CommittedMB > 0 {
			has += fmt.Sprintf(", %d MiB of it held by %d running cluster(s),", h.CommittedMB, h.CommittedBy)
			fix += ", or terminate a cluster first"
		}
		return nil, Invalid("instance-groups", fmt.Sprintf("%d workers", workers),
			fmt.Sprintf("%s too little for %d Spark workers of at least %d MiB each plus %d MiB of reserve; %s", has, workers, MinWorkerMemory, HostReserveMB+DaemonHeapMB*daemons, fix))
	}
	scaled := shareMemory(c, masterWorks, budget)
	var notes []string
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		if g.InstanceGroupType == RoleMaster && !masterWorks {
			continue
		}
		if h.CPUs > 0 && g.Spark.Cores > h.CPUs {
			notes = append(notes, fmt.Sprintf("%s (%s): Spark worker cores reduced from %d to %d, the CPUs this host has", g.Id, g.InstanceType, g.Spark.Cores, h.CPUs))
			g.Spark.Cores = h.CPUs
		}
		if asked > budget {
			notes = append(notes, fmt.Sprintf("%s (%s): Spark worker memory reduced from %d MiB to %d MiB: the cluster's workers asked %d MiB, this host can give %d MiB (%d MiB less %d MiB reserved)",
				g.Id, g.InstanceType, g.Spark.MemoryMB, scaled[i], asked, budget, h.MemoryMB, h.MemoryMB-budget))
			g.Spark.MemoryMB = scaled[i]
		}
	}
	return notes, nil
}

// shareMemory scales every worker group's memory by one factor so all
// workers together fit budget, except that no worker gets less than
// MinWorkerMemory: groups that would are held at the minimum and the factor
// is recomputed over the rest. Results are rounded down to 128 MiB. The
// caller has checked that budget covers MinWorkerMemory for every worker.
func shareMemory(c *Cluster, masterWorks bool, budget int) map[int]int {
	out := map[int]int{}
	pinned := map[int]bool{}
	for {
		rest, restAsked := budget, 0
		for i, g := range c.InstanceGroups {
			if g.InstanceGroupType == RoleMaster && !masterWorks {
				continue
			}
			if pinned[i] {
				rest -= g.RequestedInstanceCount * MinWorkerMemory
			} else {
				restAsked += g.RequestedInstanceCount * g.Spark.MemoryMB
			}
		}
		changed := false
		for i, g := range c.InstanceGroups {
			if (g.InstanceGroupType == RoleMaster && !masterWorks) || pinned[i] {
				continue
			}
			share := int(int64(g.Spark.MemoryMB) * int64(rest) / int64(max(restAsked, 1)))
			share -= share % memoryRoundingMB
			if share < MinWorkerMemory {
				pinned[i], changed = true, true
			}
			out[i] = max(share, MinWorkerMemory)
		}
		if !changed {
			return out
		}
	}
}

// NormalizedInstanceHours is EMR's usage figure: for every node, its hours
// of life rounded up to whole hours, times its type's normalization factor.
func NormalizedInstanceHours(nodes []*Node, now time.Time) int {
	total := 0
	for _, n := range nodes {
		start := n.Timeline.CreationDateTime
		if start == nil {
			continue
		}
		end := now
		if n.Timeline.EndDateTime != nil {
			end = *n.Timeline.EndDateTime
		}
		hours := int(math.Ceil(end.Sub(*start).Hours()))
		total += max(hours, 1) * instanceTypes[n.InstanceType].NormalizationFactor
	}
	return total
}

// CheckHostFit reports whether the cluster's workers, at their current Spark
// sizes, fit the host (used when a running cluster grows: live workers keep
// their sizes, so nothing is scaled).
func CheckHostFit(c *Cluster, h HostCapacity) error {
	masterWorks := c.MasterRunsWorker()
	daemons, asked := 0, 0
	for _, g := range c.InstanceGroups {
		daemons += g.RequestedInstanceCount
		if g.InstanceGroupType != RoleMaster || masterWorks {
			asked += g.RequestedInstanceCount * g.Spark.MemoryMB
		}
	}
	if masterWorks {
		daemons++
	}
	if budget := h.MemoryMB - HostReserveMB - DaemonHeapMB*daemons; asked > budget {
		return Invalid("InstanceCount", fmt.Sprintf("%d MiB of Spark workers", asked),
			fmt.Sprintf("this host can give Spark workers %d MiB (%d MiB less %d MiB reserved); use fewer or smaller instances", budget, h.MemoryMB, h.MemoryMB-budget))
	}
	return nil
}
