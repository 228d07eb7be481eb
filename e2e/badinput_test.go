//go:build integration

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every rejection exits with the right code, names the
// field, value or fix, and creates nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	badJSON := filepath.Join(t.TempDir(), "groups.json")
	os.WriteFile(badJSON, []byte(`[{"InstanceGroupType":"MASTER","InstanceCount":1,"InstanceType":"local.small"},`), 0o600)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // substrings of stderr
	}{
		{"unknown release label", []string{"create-cluster", "--instance-type", "local.small", "--release-label", "spark-9.9.9"},
			exitInvalid, []string{"release-label", "spark-9.9.9", "spark-4.0.1"}},
		{"release needing old Java", []string{"create-cluster", "--instance-type", "local.small", "--release-label", "emr-5.3.1"},
			exitInvalid, []string{"Java 8", "Java 17"}},
		{"negative count", []string{"create-cluster", "--instance-groups",
			"InstanceGroupType=MASTER,InstanceCount=1,InstanceType=local.small",
			"InstanceGroupType=CORE,InstanceCount=-2,InstanceType=local.small"},
			exitInvalid, []string{"instance-groups[1].InstanceCount", "must be >= 0", "-2"}},
		{"zero instance count", []string{"create-cluster", "--instance-type", "local.small", "--instance-count", "0"},
			exitInvalid, []string{"instance-count", "must be >= 1"}},
		{"malformed JSON", []string{"create-cluster", "--instance-groups", `[{"InstanceGroupType":"MASTER",`},
			exitInvalid, []string{"--instance-groups", "malformed JSON"}},
		{"malformed JSON file", []string{"create-cluster", "--instance-groups", "file://" + badJSON},
			exitInvalid, []string{"--instance-groups", "malformed JSON"}},
		{"missing file", []string{"create-cluster", "--instance-groups", "file:///nonexistent/groups.json"},
			exitInvalid, []string{"/nonexistent/groups.json"}},
		{"malformed shorthand", []string{"create-cluster", "--instance-groups", "InstanceGroupType=MASTER,InstanceCont=1,InstanceType=local.small"},
			exitInvalid, []string{"InstanceCont", "InstanceCount"}},
		{"unknown instance type", []string{"create-cluster", "--instance-type", "m9.huge"},
			exitInvalid, []string{"m9.huge", "local.medium"}},
		{"no master", []string{"create-cluster", "--instance-groups", "InstanceGroupType=CORE,InstanceCount=2,InstanceType=local.small"},
			exitInvalid, []string{"MASTER"}},
		{"malformed configurations", []string{"create-cluster", "--instance-type", "local.small", "--configurations", `[{"Classification":"spark-defaults",`},
			exitInvalid, []string{"--configurations", "malformed JSON"}},
		{"unknown classification", []string{"create-cluster", "--instance-type", "local.small", "--configurations", `[{"Classification":"yarn-site","Properties":{"a":"b"}}]`},
			exitInvalid, []string{"configurations[0].Classification", "yarn-site", "spark-defaults"}},
		{"maximize not boolean", []string{"create-cluster", "--instance-type", "local.small", "--configurations", `[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"maybe"}}]`},
			exitInvalid, []string{"maximizeResourceAllocation", "true or false"}},
		{"bootstrap without path", []string{"create-cluster", "--instance-type", "local.small", "--bootstrap-actions", "Name=x"},
			exitInvalid, []string{"bootstrap-actions[0].Path", "required"}},
		{"bootstrap from a bucket name s3 refuses", []string{"create-cluster", "--instance-type", "local.small", "--bootstrap-actions", "Path=s3://B/x.sh,Name=x"},
			exitInvalid, []string{"bootstrap-actions[0].Path", "s3://"}},
		{"unknown application", []string{"create-cluster", "--instance-type", "local.small", "--applications", "Name=Hue"},
			exitInvalid, []string{"Hue", "JupyterLab", "SparkConnect", "Ganglia"}},
		{"Zeppelin", []string{"create-cluster", "--instance-type", "local.small", "--applications", "Name=Zeppelin"},
			exitInvalid, []string{"Zeppelin", "Name=JupyterLab"}},
		{"describe unknown cluster", []string{"describe-cluster", "--cluster-id", "j-NOSUCHCLUSTER1"},
			exitNotFound, []string{"j-NOSUCHCLUSTER1"}},
		{"terminate unknown cluster", []string{"terminate-clusters", "--cluster-ids", "j-NOSUCHCLUSTER1"},
			exitNotFound, []string{"j-NOSUCHCLUSTER1"}},
		{"wrong credential", []string{"list-clusters", "--token", "hat_wrong"},
			exitUnauthorized, []string{"credential"}},
		{"unreachable server", []string{"list-clusters", "--endpoint", "http://" + freeAddr(t)},
			exitUnavailable, []string{"cannot reach the Hearth server", "hearth server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.hearth(tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	list := decodeJSON[struct{ Clusters []any }](t, e.ok("list-clusters"))
	if len(list.Clusters) != 0 {
		t.Errorf("rejected requests left %d clusters behind", len(list.Clusters))
	}
}

// TestMissingJava: a host without Java gets a clear error saying how to
// install it, and no cluster.
func TestMissingJava(t *testing.T) {
	empty := t.TempDir()
	e := newEnv(t, "PATH="+empty, "JAVA_HOME=")
	r := e.hearth("create-cluster", "--instance-type", "local.small")
	if r.code != exitInvalid {
		t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitInvalid, r.stderr)
	}
	for _, w := range []string{"Java", "apt-get install", "openjdk-17"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q: %s", w, r.stderr)
		}
	}
	list := decodeJSON[struct{ Clusters []any }](t, e.ok("list-clusters"))
	if len(list.Clusters) != 0 {
		t.Errorf("%d clusters created without Java", len(list.Clusters))
	}
}

// CLI exit codes (see `hearth --help`).
const (
	exitInvalid      = 2
	exitNotFound     = 3
	exitUnauthorized = 5
	exitUnavailable  = 6
)
