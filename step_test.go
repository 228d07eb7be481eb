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

// TestUnheld: a resent chunk gives only the bytes past the stream's end;
// one that leaves a gap, or holds nothing new, gives none.
func TestUnheld(t *testing.T) {
	for _, tc := range []struct {
		size, offset int64
		data, want   string
		none         bool
	}{
		{size: 0, offset: 0, data: "abc", want: "abc"},
		{size: 2, offset: 0, data: "abc", want: "c"},
		{size: 3, offset: 3, data: "de", want: "de"},
		{size: 3, offset: 0, data: "abc", none: true},
		{size: 3, offset: 1, data: "b", none: true},
		{size: 3, offset: 4, data: "x", none: true},
		{size: 3, offset: 3, data: "", none: true},
	} {
		got := hearth.Unheld(tc.size, tc.offset, []byte(tc.data))
		if (got == nil) != tc.none || string(got) != tc.want {
			t.Errorf("Unheld(%d, %d, %q) = %q (nil %v), want %q (nil %v)", tc.size, tc.offset, tc.data, got, got == nil, tc.want, tc.none)
		}
	}
}
