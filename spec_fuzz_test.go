package hearth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hearthcluster/hearth"
)

var fuzzNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// clusterSpecSeeds are ClusterSpec bodies as the CLI and the native API
// send them, valid and not.
var clusterSpecSeeds = []string{
	`{"Name":"demo","ReleaseLabel":"emr-7.2.0","InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1},{"InstanceGroupType":"CORE","InstanceType":"local.medium","InstanceCount":2}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"master","InstanceType":"m5.xlarge","InstanceCount":1,"Market":"spot","Name":"M"},{"InstanceGroupType":"TASK","InstanceType":"m5.xlarge","InstanceCount":0,"EbsConfiguration":{"EbsOptimized":true},"CustomAmiId":"ami-1"}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1,"Configurations":[{"Classification":"spark-defaults","Properties":{"spark.executor.memory":"1g"}}]}],` +
		`"Tags":[{"Key":"env","Value":"prod"}],"Applications":[{"Name":"Spark"},{"Name":"jupyter"}],"AutoTerminate":true,"TerminationProtected":true,` +
		`"Provisioner":"local","LogUri":"file:///tmp/logs","StepConcurrencyLevel":4,"IdleTimeout":3600,` +
		`"Configurations":[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"true"}},{"Classification":"spark-env","Configurations":[{"Classification":"export","Properties":{"PYSPARK_PYTHON":"/usr/bin/python3"}}]}],` +
		`"BootstrapActions":[{"Name":"install","ScriptBootstrapAction":{"Path":"/opt/boot.sh","Args":["a","b"]}}],` +
		`"Steps":[{"Name":"wc","ActionOnFailure":"CONTINUE","HadoopJarStep":{"Jar":"command-runner.jar","Args":["spark-submit","/app.py"]}}]}`,
	`{}`,
	`{"InstanceGroups":[]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":2}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"CORE","InstanceType":"local.small","InstanceCount":-2}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1},{"InstanceGroupType":"CORE","InstanceType":"nope.huge","InstanceCount":1}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"Tags":[{"Key":"aws:x","Value":""}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"LogUri":"s3://b/logs"}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"StepConcurrencyLevel":257,"IdleTimeout":5}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"Applications":[{"Name":"Hive"}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"BootstrapActions":[{"Name":"","ScriptBootstrapAction":{"Path":"relative.sh"}}]}`,
	`{"InstanceGroups":[{"InstanceGroupType":"MASTER","InstanceType":"local.small","InstanceCount":1}],"Configurations":[{"Classification":"spark","Properties":{"maximizeResourceAllocation":"yes"}}]}`,
	`{"Name":"x","Bogus":1}`,
	`{"InstanceGroups":[{"InstanceCount":"1"}]}`,
	`{"Name":"\u00e9\ud800"}`,
	`[]`,
	`{"Name":"a"} trailing`,
}

// FuzzClusterSpec decodes a body the way the native API does (strict JSON)
// and validates it with NewCluster. A rejection must be a *ValidationError
// whose Field is a cluster spec field and whose indexes exist in the
// request; an accepted spec must build the cluster it asks for; and
// validation must not change when the spec goes through JSON again.
func FuzzClusterSpec(f *testing.F) {
	for _, s := range clusterSpecSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		defer hangGuard(t, body)()
		var spec hearth.ClusterSpec
		if err := decodeStrict(body, &spec); err != nil {
			return
		}
		c, nodes, err := hearth.NewCluster(spec, "3.5.6", fuzzNow)
		if err != nil {
			checkValidationError(t, spec, err)
		} else {
			checkCluster(t, spec, c, nodes)
		}

		// The same spec sent again as JSON is judged the same way.
		again, err2 := json.Marshal(spec)
		if err2 != nil {
			t.Fatalf("marshal a decoded spec: %v", err2)
		}
		var spec2 hearth.ClusterSpec
		if err := decodeStrict(again, &spec2); err != nil {
			t.Fatalf("a marshalled spec does not decode: %v\n%s", err, again)
		}
		if third, _ := json.Marshal(spec2); !bytes.Equal(again, third) {
			t.Fatalf("JSON round trip changed the spec:\n%s\n%s", again, third)
		}
		_, _, err3 := hearth.NewCluster(spec2, "3.5.6", fuzzNow)
		if (err == nil) != (err3 == nil) {
			t.Fatalf("validation differs after a JSON round trip: %v, then %v", err, err3)
		}
	})
}

// hangGuard fails the fuzz run with input if one call takes longer than
// hangLimit: Go's fuzzer only stalls on a hanging input, then passes when
// -fuzztime runs out. The panic ends the worker, and the fuzzer saves
// input under testdata/fuzz/ as a crasher. Use: defer hangGuard(t, input)().
// (Each fuzzed package has its own copy: test helpers cannot be shared
// between packages without a non-test package.)
func hangGuard(t *testing.T, input any) func() bool {
	timer := time.AfterFunc(hangLimit, func() {
		panic(fmt.Sprintf("%s: one input ran for more than %v, a hang: %q", t.Name(), hangLimit, input))
	})
	return timer.Stop
}

// hangLimit is far above what any input takes (milliseconds, for a spec
// of thousands of nodes).
const hangLimit = 5 * time.Second

// decodeStrict decodes one JSON value, refusing unknown members, as the
// native API's request decoder does.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// specFields maps the field names NewCluster reports (CLI flag spelling) to
// the ClusterSpec JSON members they are about.
var specFields = map[string]string{
	"name":                    "Name",
	"instance-groups":         "InstanceGroups",
	"tags":                    "Tags",
	"step-concurrency-level":  "StepConcurrencyLevel",
	"log-uri":                 "LogUri",
	"auto-termination-policy": "IdleTimeout",
	"applications":            "Applications",
	"configurations":          "Configurations",
	"bootstrap-actions":       "BootstrapActions",
}

// checkValidationError asserts err is a *ValidationError wrapping
// ErrInvalid, naming a known field, with a reason, and whose path indexes
// elements the spec has.
func checkValidationError(t *testing.T, spec hearth.ClusterSpec, err error) {
	t.Helper()
	ve := asValidationError(t, err)
	root, _, _ := strings.Cut(ve.Field, ".")
	root, _, _ = strings.Cut(root, "[")
	member, ok := specFields[root]
	if !ok {
		t.Fatalf("error names field %q, not a cluster spec field: %v", ve.Field, err)
	}
	checkIndexes(t, spec, member+strings.TrimPrefix(ve.Field, root), err)
}

func asValidationError(t *testing.T, err error) *hearth.ValidationError {
	t.Helper()
	var ve *hearth.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T (%v), want *hearth.ValidationError", err, err)
	}
	if !errors.Is(err, hearth.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	if ve.Field == "" || ve.Reason == "" {
		t.Fatalf("error without field or reason: %#v", ve)
	}
	if !strings.HasPrefix(err.Error(), ve.Field+": ") {
		t.Fatalf("error %q does not start with its field %q", err, ve.Field)
	}
	return ve
}

var pathSegment = regexp.MustCompile(`^([A-Za-z]+)((?:\[\d+\])*)$`)

// checkIndexes walks path ("InstanceGroups[1].Configurations[0].Properties")
// through v's JSON form and fails if an index names an element that is not
// there. Segments that are not JSON members (such as "Path", which lives
// under ScriptBootstrapAction) end the walk, as does a map key
// (`Properties["spark.x"]`), which may contain anything.
func checkIndexes(t *testing.T, v any, path string, err error) {
	t.Helper()
	path, _, _ = strings.Cut(path, `["`)
	b, _ := json.Marshal(v)
	var cur any
	json.Unmarshal(b, &cur)
	for _, seg := range strings.Split(path, ".") {
		m := pathSegment.FindStringSubmatch(seg)
		if m == nil {
			t.Fatalf("error field path %q has a malformed segment %q: %v", path, seg, err)
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return
		}
		next, present := obj[m[1]]
		if !present && m[2] == "" {
			return
		}
		cur = next
		for _, idx := range strings.Split(strings.Trim(m[2], "[]"), "][") {
			if idx == "" {
				continue
			}
			i, _ := strconv.Atoi(idx)
			list, _ := cur.([]any)
			if i >= len(list) {
				t.Fatalf("error field %q indexes element %d of %s, which has %d: %v", path, i, m[1], len(list), err)
			}
			cur = list[i]
		}
	}
}

// checkCluster asserts that an accepted spec built what it asked for.
func checkCluster(t *testing.T, spec hearth.ClusterSpec, c *hearth.Cluster, nodes []*hearth.Node) {
	t.Helper()
	if len(c.InstanceGroups) != len(spec.InstanceGroups) {
		t.Fatalf("%d instance groups asked for, %d built", len(spec.InstanceGroups), len(c.InstanceGroups))
	}
	want, masters := 0, 0
	for i, g := range c.InstanceGroups {
		asked := spec.InstanceGroups[i].InstanceCount
		if g.RequestedInstanceCount != asked || asked < 0 || asked > 256 {
			t.Fatalf("group %d: %d instances asked for, %d requested", i, asked, g.RequestedInstanceCount)
		}
		if g.InstanceGroupType == hearth.RoleMaster {
			masters++
			if asked != 1 && asked != hearth.HAMasters {
				t.Fatalf("MASTER group with %d instances accepted", asked)
			}
		}
		want += asked
	}
	if masters != 1 {
		t.Fatalf("accepted a spec with %d MASTER groups", masters)
	}
	if len(nodes) != want {
		t.Fatalf("%d nodes for %d requested instances", len(nodes), want)
	}
	for _, n := range nodes {
		if n.ClusterId != c.Id || c.Group(n.InstanceGroupId) == nil {
			t.Fatalf("node %s belongs to no group of cluster %s", n.Id, c.Id)
		}
	}
	if l := c.StepConcurrencyLevel; l < 1 || l > hearth.MaxStepConcurrency {
		t.Fatalf("StepConcurrencyLevel %d accepted", l)
	}
	if n := utf8.RuneCountInString(c.Name); c.Name == "" || n > hearth.MaxNameLength {
		t.Fatalf("cluster name of %d characters accepted", n)
	}
	if len(c.Applications) == 0 || c.Applications[0].Name != "Spark" {
		t.Fatalf("applications %v do not start with Spark", c.Applications)
	}
	for _, tag := range c.Tags {
		if tag.Key == "" || strings.HasPrefix(strings.ToLower(tag.Key), "aws:") {
			t.Fatalf("tag %q accepted", tag.Key)
		}
	}
}
