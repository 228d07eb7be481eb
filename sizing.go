package hearth

import (
	"strconv"
)

// Executor sizing. Spark standalone gives each executor spark.executor.memory
// of a worker's --memory; the JVM needs room beyond its heap (EMR's YARN
// overhead: max(384 MiB, 10%)), and Spark refuses heaps under 450 MiB.
const (
	overheadMinMB      = 384
	minExecutorMemory  = 450
	defaultExecCoreCap = 4
)

// executorMemoryFor is the heap of one executor given mb of worker memory:
// mb less its overhead, max(384 MiB, mb/11) — i.e. heap + 10% fits.
func executorMemoryFor(mb int) int {
	heap := min(mb-overheadMinMB, mb*10/11)
	return min(max(heap, minExecutorMemory), max(mb, minExecutorMemory))
}

// ExecutorDefaults returns the spark-defaults that size executors for the
// cluster's workers (the smallest worker group decides, so every executor
// fits on every worker).
//
// Default: executors of min(worker cores, 4) cores, as many per worker as
// its cores allow, each with its share of the worker's memory less overhead.
//
// maximizeResourceAllocation (EMR's formula, on standalone workers): one
// executor per worker with all its cores and memory less overhead;
// spark.executor.instances = the number of workers;
// spark.default.parallelism = 2 × all worker cores; spark.driver.memory =
// the executor's, capped by what the master node can give a driver (75% of
// its instance type's memory less the master daemon's heap, at least 512 MiB).
func ExecutorDefaults(c *Cluster, maximize bool) map[string]string {
	masterWorks := c.MasterRunsWorker()
	cores, mem, workers, totalCores := 0, 0, 0, 0
	var master *InstanceGroup
	for i := range c.InstanceGroups {
		g := &c.InstanceGroups[i]
		if g.InstanceGroupType == RoleMaster {
			master = g
		}
		if g.RequestedInstanceCount == 0 || (g.InstanceGroupType == RoleMaster && !masterWorks) {
			continue
		}
		if workers == 0 || g.Spark.Cores < cores {
			cores = g.Spark.Cores
		}
		if workers == 0 || g.Spark.MemoryMB < mem {
			mem = g.Spark.MemoryMB
		}
		workers += g.RequestedInstanceCount
		totalCores += g.RequestedInstanceCount * g.Spark.Cores
	}
	if workers == 0 || cores == 0 {
		return map[string]string{}
	}
	mb := func(v int) string { return strconv.Itoa(v) + "m" }
	if !maximize {
		execCores := min(cores, defaultExecCoreCap)
		perWorker := max(cores/execCores, 1)
		return map[string]string{
			"spark.executor.cores":  strconv.Itoa(execCores),
			"spark.executor.memory": mb(executorMemoryFor(mem / perWorker)),
		}
	}
	execMem := executorMemoryFor(mem)
	driver := execMem
	if master != nil {
		if t, ok := instanceTypes[master.InstanceType]; ok {
			driver = min(driver, max(t.MemoryMB*3/4-DaemonHeapMB, 512))
		}
	}
	return map[string]string{
		"spark.executor.cores":      strconv.Itoa(cores),
		"spark.executor.memory":     mb(execMem),
		"spark.executor.instances":  strconv.Itoa(workers),
		"spark.default.parallelism": strconv.Itoa(2 * totalCores),
		"spark.driver.memory":       mb(driver),
	}
}
