package hearth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

// TestHadoopOnlyStepsRefused: what the aws CLI sends for Type=STREAMING,
// HIVE and PIG (command-runner.jar with hadoop-streaming, hive-script,
// pig-script) is refused when the step is added, naming the type and what
// to do instead.
func TestHadoopOnlyStepsRefused(t *testing.T) {
	c := &hearth.Cluster{Id: "j-TEST", StepConcurrencyLevel: 1}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hadoop-streaming", "-files", "s3://b/m.py", "-mapper", "m.py", "-input", "s3://b/in", "-output", "s3://b/out"}, "step type STREAMING"},
		{[]string{"hive-script", "--run-hive-script", "--args", "-f", "s3://b/q.q"}, "step type HIVE"},
		{[]string{"pig-script", "--run-pig-script", "--args", "-f", "s3://b/p.pig"}, "step type PIG"},
		{[]string{"/usr/bin/hadoop", "jar", "x.jar"}, "hadoop command"},
		{[]string{"s3-dist-cp", "--src", "s3://a", "--dest", "s3://b"}, "s3-dist-cp"},
	} {
		_, err := hearth.NewStep(c, hearth.StepConfig{Name: "s", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: tc.args}}, 3, time.Now())
		var ve *hearth.ValidationError
		if !errors.As(err, &ve) || ve.Field != "steps[3].HadoopJarStep.Args[0]" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a refusal of steps[3].HadoopJarStep.Args[0] saying %q", tc.args, err, tc.want)
		}
	}
	if why := hearth.UnsupportedStepType("impala"); !strings.Contains(why, "IMPALA") {
		t.Errorf("UnsupportedStepType(impala) = %q", why)
	}
	if why := hearth.UnsupportedStepType("Spark"); why != "" {
		t.Errorf("Spark steps are refused: %q", why)
	}
	// spark-submit under EMR's paths is fine.
	if _, err := hearth.NewStep(c, hearth.StepConfig{Name: "s", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"/usr/lib/spark/bin/spark-submit", "pi.py"}}}, 0, time.Now()); err != nil {
		t.Errorf("a /usr/lib/spark/bin/spark-submit step: %v", err)
	}
}
