package web

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/shorthand"
)

func TestClusterForm(t *testing.T) {
	for _, tc := range []struct {
		name    string
		form    url.Values
		groups  []hearth.InstanceGroupConfig
		command string
		err     string
	}{
		{
			name:    "one type is --instance-type and --instance-count",
			form:    url.Values{"name": {"demo"}, "release_label": {"spark-4.0.1"}, "master_type": {"local.small"}, "core_count": {"2"}, "core_type": {"local.small"}},
			groups:  []hearth.InstanceGroupConfig{{InstanceGroupType: "MASTER", InstanceType: "local.small", InstanceCount: 1}, {InstanceGroupType: "CORE", InstanceType: "local.small", InstanceCount: 2}},
			command: "hearth create-cluster \\\n    --name demo \\\n    --release-label spark-4.0.1 \\\n    --instance-type local.small --instance-count 3",
		},
		{
			name: "mixed types are --instance-groups",
			form: url.Values{"name": {"it's mine"}, "master_type": {"m5.xlarge"}, "core_count": {"2"}, "core_type": {"r5.xlarge"},
				"task_count": {"1"}, "task_type": {"c5.xlarge"}, "tags": {"team=data env=dev"}, "auto_terminate": {"1"},
				"step_concurrency_level": {"4"}, "log_uri": {"/var/log/hearth"}, "idle_timeout": {"3600"}},
			groups: []hearth.InstanceGroupConfig{{InstanceGroupType: "MASTER", InstanceType: "m5.xlarge", InstanceCount: 1},
				{InstanceGroupType: "CORE", InstanceType: "r5.xlarge", InstanceCount: 2}, {InstanceGroupType: "TASK", InstanceType: "c5.xlarge", InstanceCount: 1}},
			command: "hearth create-cluster \\\n    --name 'it'\\''s mine' \\\n    --instance-groups InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge " +
				"InstanceGroupType=CORE,InstanceCount=2,InstanceType=r5.xlarge InstanceGroupType=TASK,InstanceCount=1,InstanceType=c5.xlarge \\\n" +
				"    --tags team=data env=dev \\\n    --auto-terminate \\\n    --step-concurrency-level 4 \\\n    --log-uri /var/log/hearth \\\n    --auto-termination-policy IdleTimeout=3600",
		},
		{
			name:    "single node",
			form:    url.Values{"master_type": {"local.medium"}, "core_count": {"0"}, "core_type": {"local.small"}},
			groups:  []hearth.InstanceGroupConfig{{InstanceGroupType: "MASTER", InstanceType: "local.medium", InstanceCount: 1}},
			command: "hearth create-cluster \\\n    --name '' \\\n    --instance-type local.medium --instance-count 1",
		},
		{name: "not a number", form: url.Values{"core_count": {"two"}}, err: "core instance count"},
		{name: "bad tag", form: url.Values{"master_type": {"local.small"}, "tags": {"team"}}, err: "tags[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseClusterForm(tc.form)
			var spec hearth.ClusterSpec
			if err == nil {
				spec, err = f.Spec()
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.InstanceGroups, tc.groups) {
				t.Errorf("groups = %+v, want %+v", spec.InstanceGroups, tc.groups)
			}
			if got := f.Command(); got != tc.command {
				t.Errorf("command:\n%s\nwant:\n%s", got, tc.command)
			}
		})
	}
}

// cliStep is the CLI's --steps item (cmd/hearth's stepArg), to read the
// commands the form prints back as the CLI would.
type cliStep struct {
	Type            string   `json:"Type"`
	Name            string   `json:"Name"`
	ActionOnFailure string   `json:"ActionOnFailure"`
	Jar             string   `json:"Jar"`
	MainClass       string   `json:"MainClass"`
	Args            []string `json:"Args"`
}

// TestStepFormCommand: the printed add-steps command carries exactly the
// form's step, in shorthand when it can and JSON when it must.
func TestStepFormCommand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		form  stepForm
		json  bool
		want  cliStep
		wantJ []string // the step's Args as the server stores them
	}{
		{
			name:  "spark in shorthand",
			form:  stepForm{Type: "SPARK", Name: "Word count", ActionOnFailure: "CONTINUE", Args: "--deploy-mode\ncluster\n/abs/wordcount.py\n/abs/book.txt\n"},
			want:  cliStep{Type: "SPARK", Name: "Word count", ActionOnFailure: "CONTINUE", Args: []string{"--deploy-mode", "cluster", "/abs/wordcount.py", "/abs/book.txt"}},
			wantJ: []string{"spark-submit", "--deploy-mode", "cluster", "/abs/wordcount.py", "/abs/book.txt"},
		},
		{
			name:  "commas and quotes need JSON",
			form:  stepForm{Type: "CUSTOM_JAR", Name: "shell", Jar: "command-runner.jar", Args: "bash\n-c\necho 'a,b' \"[x]\""},
			json:  true,
			want:  cliStep{Type: "CUSTOM_JAR", Name: "shell", Jar: "command-runner.jar", Args: []string{"bash", "-c", `echo 'a,b' "[x]"`}},
			wantJ: []string{"bash", "-c", `echo 'a,b' "[x]"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.form.Command("j-ABC")
			prefix := "hearth add-steps --cluster-id j-ABC \\\n    --steps "
			if !strings.HasPrefix(cmd, prefix) {
				t.Fatalf("command %q", cmd)
			}
			arg := unquote(t, strings.TrimPrefix(cmd, prefix))
			var got cliStep
			if tc.json {
				var items []cliStep
				if err := json.Unmarshal([]byte(arg), &items); err != nil || len(items) != 1 {
					t.Fatalf("not one JSON step: %q: %v", arg, err)
				}
				got = items[0]
			} else if err := shorthand.Unmarshal(arg, &got); err != nil {
				t.Fatalf("shorthand %q: %v", arg, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("the command's step = %+v, want %+v", got, tc.want)
			}
			cfg, err := tc.form.Config()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.HadoopJarStep.Args, tc.wantJ) {
				t.Errorf("step args = %q, want %q", cfg.HadoopJarStep.Args, tc.wantJ)
			}
		})
	}
}

// unquote undoes shellQuote for one word.
func unquote(t *testing.T, s string) string {
	if !strings.HasPrefix(s, "'") {
		return s
	}
	if !strings.HasSuffix(s, "'") {
		t.Fatalf("unbalanced quotes: %s", s)
	}
	return strings.ReplaceAll(s[1:len(s)-1], `'\''`, `'`)
}

func TestWholeRunes(t *testing.T) {
	s := []byte("héllo →")
	for n := range len(s) + 1 {
		got := wholeRunes(s[:n])
		if got > n || !strings.HasPrefix(string(s), string(s[:got])) || n-got >= 3 {
			t.Errorf("wholeRunes(%q) = %d", s[:n], got)
		}
		if strings.ContainsRune(string(s[:got]), '\uFFFD') {
			t.Errorf("wholeRunes(%q) = %d cuts a character", s[:n], got)
		}
	}
}

// TestClusterFormApplicationsBootstrapsConfigurationsStep: the form's
// applications, bootstrap actions, configurations and first step make the
// spec the CLI would send for the command the form shows.
func TestClusterFormApplicationsBootstrapsConfigurationsStep(t *testing.T) {
	v := url.Values{
		"name": {"full"}, "master_type": {"local.small"}, "core_count": {"1"}, "core_type": {"local.small"},
		"app_ganglia": {"1"}, "app_sparkconnect": {"1"},
		"bootstrap_actions": {"/opt/setup.sh --fast\n\n  s3://b/two.sh"},
		"configurations":    {`[{"Classification": "spark-defaults", "Properties": {"spark.x": "y"}}]`},
		"step_name":         {"first"}, "step_args": {"/tmp/app.py\n10"}, "step_action": {"cancel_and_wait"},
	}
	f, err := parseClusterForm(v)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := f.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Applications) != 2 || spec.Applications[0].Name != "SparkConnect" || spec.Applications[1].Name != "Ganglia" {
		t.Errorf("applications %+v", spec.Applications)
	}
	if len(spec.BootstrapActions) != 2 || spec.BootstrapActions[0].ScriptBootstrapAction.Path != "/opt/setup.sh" ||
		strings.Join(spec.BootstrapActions[0].ScriptBootstrapAction.Args, " ") != "--fast" || spec.BootstrapActions[1].Name != "Bootstrap action 2" {
		t.Errorf("bootstrap actions %+v", spec.BootstrapActions)
	}
	if len(spec.Configurations) != 1 || spec.Configurations[0].Properties["spark.x"] != "y" {
		t.Errorf("configurations %+v", spec.Configurations)
	}
	if len(spec.Steps) != 1 || spec.Steps[0].Name != "first" || spec.Steps[0].ActionOnFailure != hearth.ActionCancelAndWait ||
		strings.Join(spec.Steps[0].HadoopJarStep.Args, " ") != "spark-submit /tmp/app.py 10" {
		t.Errorf("steps %+v", spec.Steps)
	}
	cmd := f.Command()
	for _, want := range []string{"--applications Name=SparkConnect Name=Ganglia", "--bootstrap-actions 'Path=/opt/setup.sh,Name=Bootstrap action 1,Args=[--fast]'",
		`--configurations '[{"Classification":"spark-defaults","Properties":{"spark.x":"y"}}]'`, "--steps 'Type=SPARK,Name=first,ActionOnFailure=CANCEL_AND_WAIT,Args=[/tmp/app.py,10]'"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %s:\n%s", want, cmd)
		}
	}
	v.Set("configurations", `[{"Classification": "spark-defaults", "Props": {}}]`)
	f, _ = parseClusterForm(v)
	if _, err := f.Spec(); err == nil || !strings.Contains(err.Error(), "configurations") {
		t.Errorf("malformed configurations: %v", err)
	}
}
