package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/spark"
)

// clusterForm is the create-cluster form. It builds the same
// hearth.ClusterSpec the CLI sends for the equivalent command line, which
// Command prints.
type clusterForm struct {
	Name                 string
	ReleaseLabel         string
	MasterType           string
	CoreCount            int
	CoreType             string
	TaskCount            int
	TaskType             string
	Tags                 string
	AutoTerminate        bool
	TerminationProtected bool
	StepConcurrencyLevel int
	LogUri               string
	IdleTimeout          int64
	// Applications are the optional ones checked (Spark is always there).
	Applications []string
	// Bootstraps holds one bootstrap action per line: the script's path,
	// then its arguments, separated by spaces.
	Bootstraps string
	// Configurations is EMR's configurations JSON, as --configurations.
	Configurations string
	// The first step (optional): a Spark application, its arguments one
	// per line.
	StepName   string
	StepArgs   string
	StepAction string
}

// formApplications are the applications the form offers.
var formApplications = []string{"JupyterLab", "SparkConnect", "Ganglia"}

// HasApplication reports whether the form checks application name.
func (f clusterForm) HasApplication(name string) bool { return slices.Contains(f.Applications, name) }

// defaultClusterForm is what the form shows first: the CLI's defaults and
// a small local cluster of one master and two workers.
func defaultClusterForm() clusterForm {
	return clusterForm{
		Name: hearth.DefaultClusterName, ReleaseLabel: "spark-" + spark.DefaultVersion,
		MasterType: "local.small", CoreCount: 2, CoreType: "local.small", TaskType: "local.small",
		StepConcurrencyLevel: 1, StepAction: string(hearth.ActionContinue),
	}
}

// parseClusterForm reads the form's values; a number that is not one is
// an error naming the CLI flag it stands for.
func parseClusterForm(v url.Values) (clusterForm, error) {
	f := clusterForm{
		Name:                 strings.TrimSpace(v.Get("name")),
		ReleaseLabel:         strings.TrimSpace(v.Get("release_label")),
		MasterType:           strings.TrimSpace(v.Get("master_type")),
		CoreType:             strings.TrimSpace(v.Get("core_type")),
		TaskType:             strings.TrimSpace(v.Get("task_type")),
		Tags:                 strings.TrimSpace(v.Get("tags")),
		AutoTerminate:        v.Get("auto_terminate") != "",
		TerminationProtected: v.Get("termination_protected") != "",
		LogUri:               strings.TrimSpace(v.Get("log_uri")),
		Bootstraps:           strings.TrimSpace(v.Get("bootstrap_actions")),
		Configurations:       strings.TrimSpace(v.Get("configurations")),
		StepName:             strings.TrimSpace(v.Get("step_name")),
		StepArgs:             v.Get("step_args"),
		StepAction:           strings.ToUpper(strings.TrimSpace(v.Get("step_action"))),
	}
	for _, a := range formApplications {
		if v.Get("app_"+strings.ToLower(a)) != "" {
			f.Applications = append(f.Applications, a)
		}
	}
	var err error
	if f.CoreCount, err = formInt(v, "core_count", "core instance count", 0); err != nil {
		return f, err
	}
	if f.TaskCount, err = formInt(v, "task_count", "task instance count", 0); err != nil {
		return f, err
	}
	if f.StepConcurrencyLevel, err = formInt(v, "step_concurrency_level", "step-concurrency-level", 1); err != nil {
		return f, err
	}
	idle, err := formInt(v, "idle_timeout", "auto-termination-policy IdleTimeout", 0)
	f.IdleTimeout = int64(idle)
	return f, err
}

func formInt(v url.Values, key, field string, def int) (int, error) {
	s := strings.TrimSpace(v.Get(key))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def, hearth.Invalid(field, s, "must be a whole number")
	}
	return n, nil
}

// sameShape reports whether the cluster is what --instance-type with
// --instance-count describes: one type, no task nodes.
func (f clusterForm) sameShape() bool {
	return f.TaskCount == 0 && (f.CoreCount == 0 || f.CoreType == f.MasterType)
}

// Groups are the instance groups the form asks for.
func (f clusterForm) Groups() ([]hearth.InstanceGroupConfig, error) {
	if f.sameShape() {
		return hearth.InstanceGroupsFromCount(f.MasterType, f.CoreCount+1)
	}
	groups := []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: f.MasterType, InstanceCount: 1}}
	if f.CoreCount != 0 {
		groups = append(groups, hearth.InstanceGroupConfig{InstanceGroupType: hearth.RoleCore, InstanceType: f.CoreType, InstanceCount: f.CoreCount})
	}
	if f.TaskCount != 0 {
		groups = append(groups, hearth.InstanceGroupConfig{InstanceGroupType: hearth.RoleTask, InstanceType: f.TaskType, InstanceCount: f.TaskCount})
	}
	return groups, nil
}

// Spec is the cluster spec the form describes.
func (f clusterForm) Spec() (hearth.ClusterSpec, error) {
	groups, err := f.Groups()
	if err != nil {
		return hearth.ClusterSpec{}, err
	}
	tags, err := parseTags(f.Tags)
	if err != nil {
		return hearth.ClusterSpec{}, err
	}
	spec := hearth.ClusterSpec{
		Name: f.Name, ReleaseLabel: f.ReleaseLabel, InstanceGroups: groups, Tags: tags,
		AutoTerminate: f.AutoTerminate, TerminationProtected: f.TerminationProtected,
		Provisioner: "local", LogUri: f.LogUri, StepConcurrencyLevel: f.StepConcurrencyLevel,
		IdleTimeout: f.IdleTimeout, BootstrapActions: f.bootstrapActions(),
	}
	for _, a := range f.Applications {
		spec.Applications = append(spec.Applications, hearth.Application{Name: a})
	}
	if f.Configurations != "" {
		// As the CLI reads --configurations: strict JSON.
		dec := json.NewDecoder(strings.NewReader(f.Configurations))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec.Configurations); err != nil {
			return spec, hearth.Invalid("configurations", abbreviate(f.Configurations), "malformed JSON: "+err.Error()+`; expected [{"Classification":"spark-defaults","Properties":{...}}]`)
		}
	}
	if step, ok, err := f.firstStep(); err != nil {
		return spec, err
	} else if ok {
		spec.Steps = []hearth.StepConfig{step}
	}
	return spec, nil
}

// bootstrapActions are the form's bootstrap actions, named as EMR's
// console names them when no name is given.
func (f clusterForm) bootstrapActions() []hearth.BootstrapAction {
	var out []hearth.BootstrapAction
	for _, line := range strings.Split(f.Bootstraps, "\n") {
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		out = append(out, hearth.BootstrapAction{Name: fmt.Sprintf("Bootstrap action %d", len(out)+1),
			ScriptBootstrapAction: hearth.ScriptAction{Path: words[0], Args: words[1:]}})
	}
	return out
}

// firstStep is the form's step, ok false when it has none.
func (f clusterForm) firstStep() (cfg hearth.StepConfig, ok bool, err error) {
	sf := stepForm{Type: "SPARK", Name: f.StepName, ActionOnFailure: f.StepAction, Args: f.StepArgs}
	if len(sf.ArgList()) == 0 {
		return cfg, false, nil
	}
	cfg, err = sf.Config()
	return cfg, err == nil, err
}

// abbreviate shortens a long value for an error message.
func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// parseTags reads "Key=Value" words separated by spaces or lines, as the
// CLI's --tags takes them.
func parseTags(s string) ([]hearth.Tag, error) {
	var tags []hearth.Tag
	for i, word := range strings.Fields(s) {
		k, v, ok := strings.Cut(word, "=")
		if !ok {
			return nil, hearth.Invalid(fmt.Sprintf("tags[%d]", i), word, "write tags as Key=Value, separated by spaces")
		}
		tags = append(tags, hearth.Tag{Key: k, Value: v})
	}
	return tags, nil
}

// Command is the hearth create-cluster command line that creates the same
// cluster.
func (f clusterForm) Command() string {
	args := []string{"hearth create-cluster", "--name " + ShellQuote(f.Name)}
	if f.ReleaseLabel != "" {
		args = append(args, "--release-label "+ShellQuote(f.ReleaseLabel))
	}
	if f.sameShape() {
		args = append(args, "--instance-type "+ShellQuote(f.MasterType)+" --instance-count "+strconv.Itoa(f.CoreCount+1))
	} else {
		groups, _ := f.Groups()
		var words []string
		for _, g := range groups {
			words = append(words, ShellQuote(fmt.Sprintf("InstanceGroupType=%s,InstanceCount=%d,InstanceType=%s", g.InstanceGroupType, g.InstanceCount, g.InstanceType)))
		}
		args = append(args, "--instance-groups "+strings.Join(words, " "))
	}
	if tags := strings.Fields(f.Tags); len(tags) > 0 {
		for i := range tags {
			tags[i] = ShellQuote(tags[i])
		}
		args = append(args, "--tags "+strings.Join(tags, " "))
	}
	if f.AutoTerminate {
		args = append(args, "--auto-terminate")
	}
	if f.TerminationProtected {
		args = append(args, "--termination-protected")
	}
	if f.StepConcurrencyLevel != 1 {
		args = append(args, "--step-concurrency-level "+strconv.Itoa(f.StepConcurrencyLevel))
	}
	if f.LogUri != "" {
		args = append(args, "--log-uri "+ShellQuote(f.LogUri))
	}
	if f.IdleTimeout != 0 {
		args = append(args, "--auto-termination-policy IdleTimeout="+strconv.FormatInt(f.IdleTimeout, 10))
	}
	if len(f.Applications) > 0 {
		var words []string
		for _, a := range f.Applications {
			words = append(words, "Name="+a)
		}
		args = append(args, "--applications "+strings.Join(words, " "))
	}
	for _, b := range f.bootstrapActions() {
		item := "Path=" + b.ScriptBootstrapAction.Path + ",Name=" + b.Name
		if len(b.ScriptBootstrapAction.Args) > 0 {
			item += ",Args=[" + strings.Join(b.ScriptBootstrapAction.Args, ",") + "]"
		}
		args = append(args, "--bootstrap-actions "+ShellQuote(item))
	}
	if f.Configurations != "" {
		var compact bytes.Buffer
		if json.Compact(&compact, []byte(f.Configurations)) == nil {
			args = append(args, "--configurations "+ShellQuote(compact.String()))
		} else {
			args = append(args, "--configurations "+ShellQuote(f.Configurations))
		}
	}
	if _, ok, _ := f.firstStep(); ok {
		sf := stepForm{Type: "SPARK", Name: f.StepName, ActionOnFailure: f.StepAction, Args: f.StepArgs}
		args = append(args, "--steps "+sf.item())
	}
	return strings.Join(args, " \\\n    ")
}

// stepForm is the add-step form, the fields of the CLI's --steps item.
type stepForm struct {
	Type            string // SPARK or CUSTOM_JAR
	Name            string
	ActionOnFailure string
	Jar             string
	MainClass       string
	// Args holds one argument per line.
	Args string
}

func defaultStepForm() stepForm {
	return stepForm{Type: "SPARK", ActionOnFailure: string(hearth.ActionContinue), Jar: "command-runner.jar"}
}

func parseStepForm(v url.Values) stepForm {
	return stepForm{
		Type:            strings.ToUpper(strings.TrimSpace(v.Get("type"))),
		Name:            strings.TrimSpace(v.Get("name")),
		ActionOnFailure: strings.ToUpper(strings.TrimSpace(v.Get("action_on_failure"))),
		Jar:             strings.TrimSpace(v.Get("jar")),
		MainClass:       strings.TrimSpace(v.Get("main_class")),
		Args:            v.Get("args"),
	}
}

// ArgList is the form's arguments, one per non-blank line.
func (f stepForm) ArgList() []string {
	var out []string
	for _, line := range strings.Split(f.Args, "\n") {
		if line = strings.TrimRight(line, "\r"); strings.TrimSpace(line) != "" {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// Config is the step the form describes, built as the CLI builds a
// --steps item: Type=SPARK is command-runner.jar running spark-submit
// with the arguments.
func (f stepForm) Config() (hearth.StepConfig, error) {
	cfg := hearth.StepConfig{Name: f.Name, ActionOnFailure: hearth.ActionOnFailure(f.ActionOnFailure)}
	args := f.ArgList()
	switch f.Type {
	case "SPARK":
		if cfg.Name == "" {
			cfg.Name = "Spark application"
		}
		if len(args) == 0 {
			return cfg, hearth.Invalid("steps[0].Args", "[]", "give the application to submit (a .py file, or a jar with --class) and its arguments, one per line")
		}
		cfg.HadoopJarStep = hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: append([]string{"spark-submit"}, args...)}
	case "CUSTOM_JAR":
		if f.Jar == "" {
			return cfg, hearth.Invalid("steps[0].Jar", "", "required for CUSTOM_JAR steps: command-runner.jar, script-runner.jar or your application jar")
		}
		if cfg.Name == "" {
			cfg.Name = "Custom JAR"
		}
		cfg.HadoopJarStep = hearth.HadoopJarStepConfig{Jar: f.Jar, MainClass: f.MainClass, Args: args}
	default:
		return cfg, hearth.Invalid("steps[0].Type", f.Type, "unknown step type; supported: SPARK, CUSTOM_JAR")
	}
	return cfg, nil
}

// stepItem is the CLI's --steps item, for the JSON form of the command.
type stepItem struct {
	Type            string   `json:"Type"`
	Name            string   `json:"Name,omitempty"`
	ActionOnFailure string   `json:"ActionOnFailure,omitempty"`
	Jar             string   `json:"Jar,omitempty"`
	MainClass       string   `json:"MainClass,omitempty"`
	Args            []string `json:"Args"`
}

// Command is the hearth add-steps command line that adds the same step:
// in the aws CLI's shorthand when every value allows it, else as JSON.
func (f stepForm) Command(clusterID string) string {
	return "hearth add-steps --cluster-id " + ShellQuote(clusterID) + " \\\n    --steps " + f.item()
}

// item is the step as one --steps argument, shell-quoted.
func (f stepForm) item() string {
	it := stepItem{Type: f.Type, Name: f.Name, ActionOnFailure: f.ActionOnFailure, Args: f.ArgList()}
	if f.Type == "CUSTOM_JAR" {
		it.Jar, it.MainClass = f.Jar, f.MainClass
	}
	if it.Args == nil {
		it.Args = []string{}
	}
	plain := shorthandSafe(it.Name) && shorthandSafe(it.Jar) && shorthandSafe(it.MainClass)
	for _, a := range it.Args {
		plain = plain && shorthandSafe(a) && a != ""
	}
	if !plain {
		b, _ := json.Marshal([]stepItem{it})
		return ShellQuote(string(b))
	}
	parts := []string{"Type=" + it.Type}
	for _, kv := range [][2]string{{"Name", it.Name}, {"ActionOnFailure", it.ActionOnFailure}, {"Jar", it.Jar}, {"MainClass", it.MainClass}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	parts = append(parts, "Args=["+strings.Join(it.Args, ",")+"]")
	return ShellQuote(strings.Join(parts, ","))
}

// shorthandSafe reports whether s can be a shorthand value as it is.
func shorthandSafe(s string) bool {
	if strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:@%+~ ", r)) {
			return false
		}
	}
	return true
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
