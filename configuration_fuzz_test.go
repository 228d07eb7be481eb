package hearth_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/hearthcluster/hearth"
)

// configurationSeeds are --configurations documents, valid and not.
var configurationSeeds = []string{
	`[{"Classification":"spark-defaults","Properties":{"spark.executor.memory":"2g","spark.eventLog.enabled":"true"}}]`,
	`[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"true"}},{"Classification":"spark","Properties":{"maximizeResourceAllocation":"false"}}]`,
	`[{"Classification":"spark-env","Configurations":[{"Classification":"export","Properties":{"PYSPARK_PYTHON":"/usr/bin/python3","JAVA_HOME":"/usr"}}]}]`,
	`[{"Classification":"spark-log4j2","Properties":{"rootLogger.level":"warn"}},{"Classification":"spark-metrics","Properties":{"*.sink.console.class":"org.apache.spark.metrics.sink.ConsoleSink"}},{"Classification":"spark-hive-site","Properties":{"hive.metastore.uris":"thrift://h:9083"}}]`,
	`[{"Classification":"spark-defaults","Properties":{"a":"1"}},{"Classification":"spark-defaults","Properties":{"a":"2","b":"3"}}]`,
	`[]`,
	`[{"Classification":"hadoop-env"}]`,
	`[{"Classification":"spark-defaults","Properties":{" ":"x"}}]`,
	`[{"Classification":"spark-defaults","Properties":{"a\nb":"x"}}]`,
	`[{"Classification":"spark-defaults","Properties":{"spark.x":"1\nspark.authenticate=false"}}]`,
	`[{"Classification":"spark-env","Configurations":[{"Classification":"export","Properties":{"X":"a\tb\u0000"}}]}]`,
	`[{"Classification":"spark","Properties":{"spark.x":"1"}}]`,
	`[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"TRUE"}}]`,
	`[{"Classification":"spark-env","Properties":{"X":"1"}}]`,
	`[{"Classification":"spark-env","Configurations":[{"Classification":"other"}]}]`,
	`[{"Classification":"spark-env","Configurations":[{"Classification":"export","Properties":{"1BAD":"x"}}]}]`,
	`[{"Classification":"spark-defaults","Configurations":[{"Classification":"export"}]}]`,
	`[{"Classification":"spark-defaults","Properties":{"k":1}}]`,
	`{"Classification":"spark-defaults"}`,
}

// FuzzConfigurations decodes a --configurations document strictly and
// validates it. A rejection must name the configuration (an index the
// document has) and the member; an accepted document must apply every
// property, later ones winning, and keep its validity through JSON.
func FuzzConfigurations(f *testing.F) {
	for _, s := range configurationSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		defer hangGuard(t, body)()
		var cs []hearth.Configuration
		if err := decodeStrict(body, &cs); err != nil {
			return
		}
		err := hearth.ValidateConfigurations("configurations", cs)
		if err != nil {
			ve := asValidationError(t, err)
			if !strings.HasPrefix(ve.Field, "configurations[") {
				t.Fatalf("error field %q is not under configurations[i]: %v", ve.Field, err)
			}
			checkIndexes(t, map[string]any{"Configurations": cs}, "C"+strings.TrimPrefix(ve.Field, "c"), err)
		} else {
			checkApplied(t, cs)
		}

		again, _ := json.Marshal(cs)
		var cs2 []hearth.Configuration
		if err := decodeStrict(again, &cs2); err != nil {
			t.Fatalf("marshalled configurations do not decode: %v\n%s", err, again)
		}
		if err2 := hearth.ValidateConfigurations("configurations", cs2); (err == nil) != (err2 == nil) {
			t.Fatalf("validation differs after a JSON round trip: %v, then %v", err, err2)
		}
	})
}

// checkOneLine asserts that every accepted property can be written as one
// line of its file: a non-blank name, and no control character but tab.
func checkOneLine(t *testing.T, props map[string]string) {
	t.Helper()
	control := func(r rune) bool { return r != '\t' && unicode.IsControl(r) }
	for k, v := range props {
		if strings.TrimSpace(k) == "" || strings.ContainsFunc(k, control) || strings.ContainsFunc(v, control) {
			t.Fatalf("property %q = %q accepted", k, v)
		}
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkApplied asserts that ApplyConfigurations puts every property of
// valid configurations cs in its file, the last value of a key winning.
func checkApplied(t *testing.T, cs []hearth.Configuration) {
	t.Helper()
	var conf hearth.NodeConf
	maximize := hearth.ApplyConfigurations(&conf, cs)

	want := map[string]map[string]string{}
	var wantMax *bool
	put := func(file string, props map[string]string) {
		for k, v := range props {
			if want[file] == nil {
				want[file] = map[string]string{}
			}
			want[file][k] = v
		}
	}
	for _, c := range cs {
		checkOneLine(t, c.Properties)
		for _, n := range c.Configurations {
			checkOneLine(t, n.Properties)
		}
		switch c.Classification {
		case "spark":
			if v, ok := c.Properties["maximizeResourceAllocation"]; ok {
				b := v == "true"
				wantMax = &b
			}
		case "spark-env":
			for _, n := range c.Configurations {
				for k := range n.Properties {
					if !envName.MatchString(k) {
						t.Fatalf("spark-env variable %q accepted", k)
					}
				}
				put("spark-env", n.Properties)
			}
		default:
			put(c.Classification, c.Properties)
		}
	}
	got := map[string]map[string]string{
		"spark-defaults":  conf.SparkDefaults,
		"spark-env":       conf.SparkEnv,
		"spark-log4j2":    conf.Log4j2,
		"spark-metrics":   conf.Metrics,
		"spark-hive-site": conf.HiveSite,
	}
	for file, props := range got {
		if len(props) == 0 && len(want[file]) == 0 {
			continue
		}
		if !reflect.DeepEqual(props, want[file]) {
			t.Fatalf("%s: applied %v, want %v", file, props, want[file])
		}
	}
	if (maximize == nil) != (wantMax == nil) || maximize != nil && *maximize != *wantMax {
		t.Fatalf("maximizeResourceAllocation = %v, want %v", maximize, wantMax)
	}
}
