package hearth

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StepState is EMR's step state.
type StepState string

const (
	StepPending       StepState = "PENDING"
	StepCancelPending StepState = "CANCEL_PENDING"
	StepRunning       StepState = "RUNNING"
	StepCompleted     StepState = "COMPLETED"
	StepCancelled     StepState = "CANCELLED"
	StepFailed        StepState = "FAILED"
	StepInterrupted   StepState = "INTERRUPTED"
)

// AllStepStates lists every step state.
var AllStepStates = []StepState{StepPending, StepCancelPending, StepRunning, StepCompleted, StepCancelled, StepFailed, StepInterrupted}

// Ended reports whether the step will not change again.
func (s StepState) Ended() bool {
	switch s {
	case StepCompleted, StepCancelled, StepFailed, StepInterrupted:
		return true
	}
	return false
}

// ActionOnFailure is what EMR does to the cluster when a step fails.
type ActionOnFailure string

const (
	ActionTerminateJobFlow ActionOnFailure = "TERMINATE_JOB_FLOW"
	ActionTerminateCluster ActionOnFailure = "TERMINATE_CLUSTER"
	ActionCancelAndWait    ActionOnFailure = "CANCEL_AND_WAIT"
	ActionContinue         ActionOnFailure = "CONTINUE"
)

// KeyValue is a Java property given to a step (HadoopJarStepConfig.Properties).
type KeyValue struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// HadoopJarStepConfig is what a step runs: EMR's name and shape. Hearth
// understands the jars EMR users actually use with Spark: command-runner.jar
// (run Args as a command, e.g. spark-submit ...) and script-runner.jar (run
// the script at Args[0] with the rest as its arguments); any other Jar is
// submitted to Spark with MainClass.
type HadoopJarStepConfig struct {
	Properties []KeyValue `json:"Properties,omitempty"`
	Jar        string     `json:"Jar"`
	MainClass  string     `json:"MainClass,omitempty"`
	Args       []string   `json:"Args"`
}

// StepConfig is a request to add a step.
type StepConfig struct {
	Name            string              `json:"Name"`
	ActionOnFailure ActionOnFailure     `json:"ActionOnFailure,omitempty"`
	HadoopJarStep   HadoopJarStepConfig `json:"HadoopJarStep"`
}

// StepStateChangeReason says why a step is in its state.
type StepStateChangeReason struct {
	Code    string `json:"Code,omitempty"`
	Message string `json:"Message,omitempty"`
}

// FailureDetails says why a step failed, read from its stderr.
type FailureDetails struct {
	Reason  string `json:"Reason,omitempty"`
	Message string `json:"Message,omitempty"`
	LogFile string `json:"LogFile,omitempty"`
}

// StepTimeline records a step's life.
type StepTimeline struct {
	CreationDateTime *time.Time `json:"CreationDateTime,omitempty"`
	StartDateTime    *time.Time `json:"StartDateTime,omitempty"`
	EndDateTime      *time.Time `json:"EndDateTime,omitempty"`
}

// StepStatus is a step's state, reason, failure details and timeline.
type StepStatus struct {
	State             StepState             `json:"State"`
	StateChangeReason StepStateChangeReason `json:"StateChangeReason"`
	FailureDetails    *FailureDetails       `json:"FailureDetails,omitempty"`
	Timeline          StepTimeline          `json:"Timeline"`
}

// Step is one unit of work on a cluster.
type Step struct {
	Id              string              `json:"Id"`
	ClusterId       string              `json:"ClusterId"`
	Name            string              `json:"Name"`
	Config          HadoopJarStepConfig `json:"Config"`
	ActionOnFailure ActionOnFailure     `json:"ActionOnFailure"`
	Status          StepStatus          `json:"Status"`
	// Seq orders the steps of a cluster: they start in this order.
	Seq int64 `json:"-"`
	// CancelOption is how a cancel of a RUNNING step stops it.
	CancelOption string `json:"-"`
	// ExitCode is the step process's exit status once it ended.
	ExitCode *int `json:"ExitCode,omitempty"`
	// RunsOn is the master node whose agent runs the step, chosen when it
	// starts (a highly available cluster has three).
	RunsOn string `json:"RunsOn,omitempty"`
}

// Limits on steps.
const (
	MaxStepConcurrency = 256
	MaxStepNameLength  = 256
	// MaxActiveSteps is EMR's limit on the steps of one cluster that are
	// PENDING or RUNNING (CANCEL_PENDING counts: it has not stopped yet).
	MaxActiveSteps = 256
)

// ActiveStepStates are the states that count against MaxActiveSteps:
// every state but the ended ones.
var ActiveStepStates = []StepState{StepPending, StepCancelPending, StepRunning}

// CheckActiveSteps refuses adding steps to a cluster that has active of
// them already PENDING or RUNNING when the sum would pass MaxActiveSteps.
// Every way of adding steps (the CLI, the native and EMR APIs, the
// console, the steps of a new cluster) goes through it.
func CheckActiveSteps(active, adding int) error {
	if active+adding <= MaxActiveSteps {
		return nil
	}
	return Invalid("steps", fmt.Sprintf("%d more with %d PENDING or RUNNING", adding, active),
		fmt.Sprintf("a cluster may have at most %d PENDING or RUNNING steps (EMR's limit); wait for some to finish, or cancel some", MaxActiveSteps))
}

// NewStep validates cfg (element index i of a request, for messages) and
// returns a PENDING step for cluster c.
func NewStep(c *Cluster, cfg StepConfig, i int, now time.Time) (*Step, error) {
	field := fmt.Sprintf("steps[%d]", i)
	if cfg.Name == "" {
		return nil, Invalid(field+".Name", "", "required; name the step, e.g. Name=Wordcount")
	}
	if len(cfg.Name) > MaxStepNameLength {
		return nil, Invalid(field+".Name", fmt.Sprintf("%d characters", len(cfg.Name)), fmt.Sprintf("must be at most %d characters", MaxStepNameLength))
	}
	action, err := ParseActionOnFailure(field+".ActionOnFailure", string(cfg.ActionOnFailure))
	if err != nil {
		return nil, err
	}
	if c.StepConcurrencyLevel > 1 && (action == ActionCancelAndWait || action == ActionTerminateCluster || action == ActionTerminateJobFlow) {
		return nil, Invalid(field+".ActionOnFailure", string(action), fmt.Sprintf("not allowed when StepConcurrencyLevel is %d (> 1); use CONTINUE", c.StepConcurrencyLevel))
	}
	jar := cfg.HadoopJarStep
	switch {
	case jar.Jar == "":
		return nil, Invalid(field+".HadoopJarStep.Jar", "", "required: command-runner.jar, script-runner.jar, or the path of your application jar")
	case IsCommandRunner(jar.Jar) && len(jar.Args) == 0:
		return nil, Invalid(field+".HadoopJarStep.Args", "[]", "command-runner.jar needs the command to run, e.g. Args=[spark-submit,app.py]")
	case IsScriptRunner(jar.Jar) && len(jar.Args) == 0:
		return nil, Invalid(field+".HadoopJarStep.Args", "[]", "script-runner.jar needs the script's location as its first argument")
	case IsCommandRunner(jar.Jar):
		if why, ok := hadoopOnlyCommands[baseName(jar.Args[0])]; ok {
			return nil, Invalid(field+".HadoopJarStep.Args[0]", jar.Args[0], why)
		}
	}
	var props []KeyValue
	for _, kv := range jar.Properties {
		if kv.Key != "" { // the aws CLI sends "Properties":"" as one empty pair
			props = append(props, kv)
		}
	}
	jar.Properties = props
	if jar.Args == nil {
		jar.Args = []string{}
	}
	created := now.UTC()
	return &Step{
		Id:              NewStepID(),
		ClusterId:       c.Id,
		Name:            cfg.Name,
		Config:          jar,
		ActionOnFailure: action,
		Status: StepStatus{
			State:    StepPending,
			Timeline: StepTimeline{CreationDateTime: &created},
		},
	}, nil
}

// Step types of EMR that run on Hadoop itself, which a Spark standalone
// cluster does not have: why each is refused and what to do instead.
var unsupportedStepTypes = map[string]string{
	"STREAMING": "step type STREAMING (Hadoop streaming) needs Hadoop MapReduce, which Hearth's Spark standalone clusters do not run; rewrite it as a Spark step (Type=Spark; rdd.pipe runs the same mapper script)",
	"HIVE":      "step type HIVE needs Apache Hive, which Hearth's clusters do not run; run the HiveQL with Spark SQL instead: Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-sql,-f,script.q] or spark.sql(...) in an application",
	"PIG":       "step type PIG needs Apache Pig, which Hearth's clusters do not run; rewrite the script as a Spark step (Type=Spark)",
	"IMPALA":    "step type IMPALA needs Apache Impala, which Hearth's clusters do not run; use Spark SQL: Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-sql,-f,script.sql]",
}

// hadoopOnlyCommands are what the aws CLI turns those step types into
// (command-runner.jar's first argument), and other Hadoop-only commands.
var hadoopOnlyCommands = map[string]string{
	"hadoop-streaming": unsupportedStepTypes["STREAMING"],
	"hive-script":      unsupportedStepTypes["HIVE"],
	"pig-script":       unsupportedStepTypes["PIG"],
	"impala-shell":     unsupportedStepTypes["IMPALA"],
	"hadoop":           "the hadoop command needs a Hadoop cluster, which Hearth's Spark standalone clusters do not run; use a Spark step (Type=Spark) instead",
	"s3-dist-cp":       "s3-dist-cp is EMR's own copy tool, which Hearth does not have; copy with the aws CLI (aws s3 cp) in a command-runner step, or read the data from Spark directly",
}

// UnsupportedStepType says why an EMR step type (Type=... in the CLI
// shorthand, any case) cannot run on Hearth, or "" if it is not one of
// those.
func UnsupportedStepType(t string) string { return unsupportedStepTypes[strings.ToUpper(t)] }

// ParseActionOnFailure accepts EMR's values (case-insensitively); empty
// means CONTINUE, the CLI's default.
func ParseActionOnFailure(field, v string) (ActionOnFailure, error) {
	switch a := ActionOnFailure(strings.ToUpper(v)); a {
	case "":
		return ActionContinue, nil
	case ActionTerminateJobFlow, ActionTerminateCluster, ActionCancelAndWait, ActionContinue:
		return a, nil
	}
	return "", Invalid(field, v, "must be CONTINUE, CANCEL_AND_WAIT, TERMINATE_CLUSTER or TERMINATE_JOB_FLOW")
}

// IsCommandRunner reports whether jar names EMR's command-runner.jar.
func IsCommandRunner(jar string) bool { return baseName(jar) == "command-runner.jar" }

// IsScriptRunner reports whether jar names EMR's script-runner.jar.
func IsScriptRunner(jar string) bool { return baseName(jar) == "script-runner.jar" }

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// SetStepState moves s to state at now with an optional reason message.
func (s *Step) SetState(state StepState, message string, now time.Time) {
	t := now.UTC()
	if state == StepRunning && s.Status.Timeline.StartDateTime == nil {
		s.Status.Timeline.StartDateTime = &t
	}
	if state.Ended() && s.Status.Timeline.EndDateTime == nil {
		s.Status.Timeline.EndDateTime = &t
	}
	s.Status.State = state
	s.Status.StateChangeReason = StepStateChangeReason{Message: message}
}

// spark-submit options that take no value.
var submitFlags = map[string]bool{"--verbose": true, "-v": true, "--supervise": true, "--help": true, "-h": true, "--version": true}

// SparkSubmitSwitch reports whether flag is a spark-submit option that
// takes no value.
func SparkSubmitSwitch(flag string) bool { return submitFlags[flag] }

// SparkSubmitAppIndex returns the index in args (args[0] is spark-submit)
// of the application resource — the first argument that is not an option
// or an option's value — or -1.
func SparkSubmitAppIndex(args []string) int {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if !submitFlags[a] && !strings.Contains(a, "=") {
				i++ // the option's value
			}
			continue
		}
		return i
	}
	return -1
}

// MaxLogOffset is the largest byte offset into a step log a reader may ask
// for: 2^53-1, the largest integer a JSON number keeps exactly in the
// browsers that follow logs in the console.
const MaxLogOffset = 1<<53 - 1

// ParseLogOffset reads where a step log read starts (the "offset" query
// parameter): empty means 0; anything but a decimal integer from 0 to
// MaxLogOffset is a *ValidationError naming offset.
func ParseLogOffset(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > MaxLogOffset {
		return 0, Invalid("offset", strconv.Quote(v), fmt.Sprintf("must be a byte offset from 0 to %d: the Next of the previous read", int64(MaxLogOffset)))
	}
	return n, nil
}
