package agent

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// EMR step definitions name EMR's paths and speak YARN. The functions here
// translate them for a Spark standalone cluster, saying in the step's
// controller log what they changed, so the user sees what ran.

// emrCommand maps a command-runner step's command onto this node's Spark
// runtime: EMR's /usr/bin and /usr/lib/spark/bin commands, run-example
// (and EMR's spark-example) as spark-submit of the examples jar, and
// arguments under /usr/lib/spark.
func (r *stepRunner) emrCommand(args []string) ([]string, error) {
	switch cmd := spark.EMRCommand(args[0]); cmd {
	case "":
	case "spark-submit":
		if args[0] != cmd {
			r.logf("Translated %s to this cluster's spark-submit", args[0])
		}
		args[0] = cmd
	case "run-example":
		jar, err := r.dist.ExamplesJar()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", args[0], err)
		}
		i := hearth.SparkSubmitAppIndex(args)
		if i < 0 {
			return nil, fmt.Errorf("%s: name the example to run, e.g. %s SparkPi 10", args[0], args[0])
		}
		class := args[i]
		if !strings.Contains(class, ".") {
			class = "org.apache.spark.examples." + class
		}
		out := append([]string{"spark-submit"}, args[1:i]...)
		out = append(append(out, "--class", class, jar), args[i+1:]...)
		r.logf("Translated %s %s to spark-submit --class %s %s", args[0], args[i], class, jar)
		args = out
	default:
		path, err := r.dist.ResolveEMRPath("/usr/lib/spark/bin/" + cmd)
		if err != nil {
			return nil, err
		}
		if args[0] != path {
			r.logf("Translated %s to %s", args[0], path)
		}
		args[0] = path
	}
	for i := 1; i < len(args); i++ {
		if !spark.IsEMRPath(args[i]) {
			continue
		}
		path, err := r.dist.ResolveEMRPath(args[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", args[i], err)
		}
		r.logf("Translated %s to %s", args[i], path)
		args[i] = path
	}
	return args, nil
}

// yarnMasters are the --master values of Spark on YARN, with the deploy
// mode the legacy forms imply ("" keeps the step's own).
var yarnMasters = map[string]string{"yarn": "", "yarn-cluster": "cluster", "yarn-client": "client"}

// translateYARN rewrites a spark-submit argument list (after the command)
// written for EMR's YARN: --master yarn* becomes this cluster's master,
// --num-executors (spark.executor.instances, which standalone ignores)
// becomes spark.cores.max of that many executors' cores, --queue and
// spark.yarn.* settings are dropped. It returns the arguments and whether
// a --master remains.
func (r *stepRunner) translateYARN(rest []string) (out []string, hasMaster bool) {
	executors, cores := 0, r.executorCores
	deployMode := ""
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		flag, value, inline := strings.Cut(a, "=")
		if !strings.HasPrefix(flag, "-") {
			out = append(out, rest[i:]...) // the application and its arguments
			break
		}
		if !inline && i+1 < len(rest) && !hearth.SparkSubmitSwitch(flag) {
			value = rest[i+1]
		}
		next := i
		if !inline && !hearth.SparkSubmitSwitch(flag) {
			next = i + 1
		}
		key, v, _ := strings.Cut(value, "=")
		switch {
		case flag == "--master":
			if mode, yarn := yarnMasters[value]; yarn {
				r.logf("Translated --master %s to this cluster's master %s", value, r.url)
				if mode != "" {
					deployMode = mode
				}
			} else {
				hasMaster = true
				out = append(out, rest[i:next+1]...)
			}
		case flag == "--num-executors":
			executors, _ = strconv.Atoi(value)
		case flag == "--executor-cores":
			cores, _ = strconv.Atoi(value)
			out = append(out, rest[i:next+1]...)
		case flag == "--queue":
			r.logf("Ignored --queue %s: Spark standalone has no YARN queues", value)
		case flag == "--conf" && strings.HasPrefix(key, "spark.yarn."):
			r.logf("Ignored --conf %s: a YARN setting", value)
		case flag == "--conf" && key == "spark.executor.instances":
			executors, _ = strconv.Atoi(v)
		case flag == "--conf" && key == "spark.executor.cores":
			cores, _ = strconv.Atoi(v)
			out = append(out, rest[i:next+1]...)
		case flag == "--deploy-mode" && deployMode != "":
			// the legacy master's mode stands
		default:
			out = append(out, rest[i:next+1]...)
		}
		i = next
	}
	if deployMode != "" {
		out = append([]string{"--deploy-mode", deployMode}, out...)
	}
	if executors > 0 {
		if cores <= 0 {
			cores = 1
		}
		r.logf("Translated %d executors (--num-executors / spark.executor.instances, which Spark standalone ignores) to spark.cores.max=%d (%d executors of %d cores)", executors, executors*cores, executors, cores)
		out = append([]string{"--conf", "spark.cores.max=" + strconv.Itoa(executors*cores)}, out...)
	}
	return out, hasMaster
}
