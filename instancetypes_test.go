package hearth_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

func TestLookupInstanceType(t *testing.T) {
	tests := []struct {
		name      string
		want      hearth.InstanceType
		wantSpark hearth.NodeResources
	}{
		{"m5.2xlarge", hearth.InstanceType{Name: "m5.2xlarge", VCPU: 8, MemoryMB: 32768, NormalizationFactor: 16, HourlyUSD: 0.384}, hearth.NodeResources{Cores: 8, MemoryMB: 24576}},
		{"r5.xlarge", hearth.InstanceType{Name: "r5.xlarge", VCPU: 4, MemoryMB: 32768, NormalizationFactor: 8, HourlyUSD: 0.252}, hearth.NodeResources{Cores: 4, MemoryMB: 24576}},
		{"local.medium", hearth.InstanceType{Name: "local.medium", VCPU: 2, MemoryMB: 2048, NormalizationFactor: 2}, hearth.NodeResources{Cores: 2, MemoryMB: 2048}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hearth.LookupInstanceType("type", tc.name)
			if err != nil {
				t.Fatalf("LookupInstanceType: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if s := got.SparkWorker(); s != tc.wantSpark {
				t.Errorf("SparkWorker = %+v, want %+v", s, tc.wantSpark)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := hearth.LookupInstanceType("instance-groups[0].InstanceType", "m5.huge")
		ve := checkInvalid(t, err, "instance-groups[0].InstanceType")
		if ve != nil && !strings.Contains(ve.Reason, "local.small, local.medium, local.large, ") {
			t.Errorf("reason %q does not list the local types first, smallest first", ve.Reason)
		}
	})
}

func TestInstanceTypeNames(t *testing.T) {
	names := hearth.InstanceTypeNames()
	if !reflect.DeepEqual(names[:3], []string{"local.small", "local.medium", "local.large"}) {
		t.Errorf("first names = %v, want the local sizes smallest first", names[:3])
	}
	for i := 4; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("EC2 names not sorted: %q before %q", names[i-1], names[i])
		}
	}
	for _, n := range names {
		if _, err := hearth.LookupInstanceType("type", n); err != nil {
			t.Errorf("listed type %q does not resolve: %v", n, err)
		}
	}
}

// fitCluster builds a cluster of one master and workers core nodes.
func fitCluster(t *testing.T, masterType, coreType string, workers int) *hearth.Cluster {
	t.Helper()
	groups := []hearth.InstanceGroupConfig{group(hearth.RoleMaster, masterType, 1)}
	if workers > 0 {
		groups = append(groups, group(hearth.RoleCore, coreType, workers))
	}
	c, _, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: groups}, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	return c
}

func TestFitToHost(t *testing.T) {
	t.Run("fits", func(t *testing.T) {
		c := fitCluster(t, "local.small", "local.medium", 2)
		before := append([]hearth.InstanceGroup(nil), c.InstanceGroups...)
		notes, err := hearth.FitToHost(c, hearth.HostCapacity{CPUs: 8, MemoryMB: 16384})
		if err != nil {
			t.Fatalf("FitToHost: %v", err)
		}
		if len(notes) != 0 {
			t.Errorf("notes = %q, want none", notes)
		}
		if !reflect.DeepEqual(c.InstanceGroups, before) {
			t.Errorf("groups changed:\n got %+v\nwant %+v", c.InstanceGroups, before)
		}
	})

	t.Run("reduced", func(t *testing.T) {
		c := fitCluster(t, "local.small", "m5.2xlarge", 2)
		core := &c.InstanceGroups[1]
		if core.Spark.MemoryMB != 24576 || core.Spark.Cores != 8 {
			t.Fatalf("m5.2xlarge worker offers %+v, want 8 cores and 24576 MiB", core.Spark)
		}
		host := hearth.HostCapacity{CPUs: 2, MemoryMB: 24000}
		notes, err := hearth.FitToHost(c, host)
		if err != nil {
			t.Fatalf("FitToHost: %v", err)
		}
		budget := host.MemoryMB - hearth.HostReserveMB - hearth.DaemonHeapMB*3 // master + 2 workers
		mem := core.Spark.MemoryMB
		if mem%128 != 0 {
			t.Errorf("worker memory %d MiB is not a multiple of 128", mem)
		}
		if total := mem * core.RequestedInstanceCount; total > budget || total < budget-2*128 {
			t.Errorf("workers get %d MiB in all, want at most the budget %d and within rounding of it", total, budget)
		}
		if mem < hearth.MinWorkerMemory {
			t.Errorf("worker memory %d MiB below the minimum %d", mem, hearth.MinWorkerMemory)
		}
		if core.Spark.Cores != 2 {
			t.Errorf("worker cores = %d, want the host's 2", core.Spark.Cores)
		}
		if master := c.InstanceGroups[0]; master.Spark != (hearth.NodeResources{Cores: 1, MemoryMB: 1024}) {
			t.Errorf("master group (no worker) changed to %+v", master.Spark)
		}
		joined := strings.Join(notes, "\n")
		if len(notes) != 2 || !strings.Contains(joined, "cores reduced") || !strings.Contains(joined, "memory reduced") || !strings.Contains(joined, core.Id) {
			t.Errorf("notes = %q, want one about cores and one about memory being reduced for %s", notes, core.Id)
		}
	})

	t.Run("master-only worker counted", func(t *testing.T) {
		c := fitCluster(t, "m5.2xlarge", "", 0)
		host := hearth.HostCapacity{CPUs: 16, MemoryMB: 8192}
		notes, err := hearth.FitToHost(c, host)
		if err != nil {
			t.Fatalf("FitToHost: %v", err)
		}
		budget := host.MemoryMB - hearth.HostReserveMB - hearth.DaemonHeapMB*2 // master and worker daemons
		if mem := c.InstanceGroups[0].Spark.MemoryMB; mem > budget || mem%128 != 0 {
			t.Errorf("master's worker memory = %d MiB, want a multiple of 128 within %d", mem, budget)
		}
		if len(notes) != 1 {
			t.Errorf("notes = %q, want one about memory", notes)
		}
	})

	t.Run("host too small", func(t *testing.T) {
		c := fitCluster(t, "local.small", "m5.2xlarge", 2)
		_, err := hearth.FitToHost(c, hearth.HostCapacity{CPUs: 2, MemoryMB: 2000})
		ve := checkInvalid(t, err, "instance-groups")
		if ve != nil && !strings.Contains(ve.Reason, "2000 MiB") {
			t.Errorf("reason %q does not say how much memory the host has", ve.Reason)
		}
	})
}

// TestFitToHostMinimumStaysWithinBudget: workers held at the minimum memory
// must not push the total past what the host can give.
func TestFitToHostMinimumStaysWithinBudget(t *testing.T) {
	c, _, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{
		{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
		{InstanceGroupType: hearth.RoleCore, InstanceType: "r5.4xlarge", InstanceCount: 1},
		{InstanceGroupType: hearth.RoleTask, InstanceType: "local.small", InstanceCount: 1},
	}}, "4.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	host := hearth.HostCapacity{CPUs: 2, MemoryMB: 4684}
	if _, err := hearth.FitToHost(c, host); err != nil {
		t.Fatal(err)
	}
	budget := host.MemoryMB - hearth.HostReserveMB - hearth.DaemonHeapMB*3
	total := 0
	for _, g := range c.InstanceGroups[1:] {
		if g.Spark.MemoryMB < hearth.MinWorkerMemory {
			t.Errorf("%s: %d MiB is below the minimum", g.InstanceType, g.Spark.MemoryMB)
		}
		total += g.Spark.MemoryMB
	}
	if total > budget {
		t.Errorf("workers get %d MiB in all, more than the host's budget of %d MiB", total, budget)
	}
}

// TestFitToHostCountsRunningClusters: on a single-host provisioner, what
// running clusters hold is not there for a new one; the refusal says so.
func TestFitToHostCountsRunningClusters(t *testing.T) {
	running := fitCluster(t, "local.small", "local.medium", 2)
	held := running.HostMemoryMB()
	if want := 2*running.InstanceGroups[1].Spark.MemoryMB + 3*hearth.DaemonHeapMB; held != want {
		t.Fatalf("HostMemoryMB = %d, want %d (two workers and three daemon heaps)", held, want)
	}
	host := hearth.HostCapacity{CPUs: 8, MemoryMB: 8192}
	if _, err := hearth.FitToHost(fitCluster(t, "local.small", "local.medium", 2), host); err != nil {
		t.Fatalf("alone on the host: %v", err)
	}
	host.CommittedMB, host.CommittedBy = held, 1
	_, err := hearth.FitToHost(fitCluster(t, "local.small", "local.medium", 2), host)
	var ve *hearth.ValidationError
	if !errors.As(err, &ve) || ve.Field != "instance-groups" || !strings.Contains(err.Error(), "held by 1 running cluster") {
		t.Errorf("beside a running cluster: %v, want a refusal naming instance-groups and the running cluster", err)
	}
}
