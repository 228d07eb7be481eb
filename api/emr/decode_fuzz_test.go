package emr_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/hearthcluster/hearth"
	hemr "github.com/hearthcluster/hearth/api/emr"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
)

// fuzzOps are the operations FuzzEMRRequest sends bodies to, in a fixed
// order: the fuzz input picks one by index.
var fuzzOps = []string{
	"RunJobFlow", "DescribeCluster", "ListClusters", "TerminateJobFlows", "AddJobFlowSteps",
	"ListSteps", "DescribeStep", "CancelSteps", "ListInstanceGroups", "ListInstances",
	"ListBootstrapActions", "SetTerminationProtection", "SetKeepJobFlowAliveWhenNoSteps",
	"ModifyCluster", "PutAutoTerminationPolicy", "GetAutoTerminationPolicy",
	"RemoveAutoTerminationPolicy", "AddInstanceGroups", "ModifyInstanceGroups", "AddTags", "RemoveTags",
}

// fuzzOp returns the index of op in fuzzOps.
func fuzzOp(op string) uint8 {
	for i, o := range fuzzOps {
		if o == op {
			return uint8(i)
		}
	}
	panic("unknown op " + op)
}

// In fuzzed bodies these stand for the ids of a cluster made at start-up,
// its CORE group and its step, so that the fuzzer reaches past the lookup.
const (
	fuzzClusterID = "j-FUZZ"
	fuzzGroupID   = "ig-FUZZ"
	fuzzStepID    = "s-FUZZ"
)

// fuzzEnv is the EMR handler over a real control plane and SQLite store,
// with the fake provisioner: nothing is ever started.
type fuzzEnv struct {
	h        http.Handler
	cp       *control.Server
	creds    aws.Credentials
	replacer *strings.Replacer
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "hearth.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp := control.New(control.Config{
		Store:        store,
		Provisioners: []hearth.Provisioner{fakeProvisioner{}},
		Locator:      &spark.Locator{CacheDir: tb.TempDir(), Logger: log},
		FindJava: func(context.Context) (spark.Java, error) {
			return spark.Java{Path: "/usr/bin/java", Home: "/usr", Major: 17, Version: "17.0.15"}, nil
		},
		LogDir:    tb.TempDir(),
		MasterKey: key,
		URL:       "http://127.0.0.1:1",
		Logger:    log,
	})
	k, secret, err := cp.CreateAccessKey(ctx, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := cp.CreateCluster(ctx, hearth.ClusterSpec{
		Name: "fuzz", ReleaseLabel: "spark-" + spark.DefaultVersion,
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: hearth.RoleMaster, InstanceType: "local.small", InstanceCount: 1},
			{InstanceGroupType: hearth.RoleCore, InstanceType: "local.small", InstanceCount: 1},
		},
		Steps: []hearth.StepConfig{{Name: "s", HadoopJarStep: hearth.HadoopJarStepConfig{Jar: "command-runner.jar", Args: []string{"true"}}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	steps, err := cp.ListSteps(ctx, c.Id, nil, nil)
	if err != nil || len(steps) != 1 {
		tb.Fatalf("steps of the fuzz cluster: %v, %v", steps, err)
	}
	return &fuzzEnv{
		h:        hemr.New(cp, "us-east-1", log),
		cp:       cp,
		creds:    aws.Credentials{AccessKeyID: k.AccessKeyId, SecretAccessKey: secret},
		replacer: strings.NewReplacer(fuzzClusterID, c.Id, fuzzGroupID, c.InstanceGroups[1].Id, fuzzStepID, steps[0].Id),
	}
}

// do sends body to op, signed as the AWS SDK signs.
func (e *fuzzEnv) do(tb testing.TB, op string, body []byte) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8440/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "ElasticMapReduce."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), e.creds, r, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *fuzzEnv) clusters(tb testing.TB) int {
	cs, err := e.cp.ListClusters(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return len(cs)
}

// FuzzEMRRequest sends fuzzed, correctly signed bodies to every EMR
// operation. Whatever the body, the answer is 200 with a JSON object or an
// AWS error (4xx, __type, a message that locates the problem), never a
// 5xx; and a refused RunJobFlow creates no cluster.
func FuzzEMRRequest(f *testing.F) {
	add := func(op, body string) { f.Add(fuzzOp(op), []byte(body)) }
	add("RunJobFlow", `{"Name":"c","ReleaseLabel":"spark-4.0.1","Instances":{"InstanceGroups":[{"Name":"M","InstanceRole":"MASTER","InstanceType":"local.small","InstanceCount":1},{"InstanceRole":"CORE","InstanceType":"local.small","InstanceCount":1,"Market":"ON_DEMAND"}],"KeepJobFlowAliveWhenNoSteps":true},`+
		`"Steps":[{"Name":"wc","ActionOnFailure":"CONTINUE","HadoopJarStep":{"Jar":"command-runner.jar","Args":["spark-submit","app.py"],"Properties":[{"Key":"","Value":""}]}}],`+
		`"Applications":[{"Name":"Spark"}],"Tags":[{"Key":"team","Value":"data"}],"Configurations":[{"Classification":"spark-defaults","Properties":{"spark.x":"1"}}],`+
		`"BootstrapActions":[{"Name":"b","ScriptBootstrapAction":{"Path":"/opt/b.sh","Args":["1"]}}],"AutoTerminationPolicy":{"IdleTimeout":3600},"StepConcurrencyLevel":2,"LogUri":"/tmp/l"}`)
	add("RunJobFlow", `{"Name":"c","Instances":{"MasterInstanceType":"local.small","SlaveInstanceType":"local.small","InstanceCount":3,"Placement":{"AvailabilityZone":"us-east-1a"}},"VisibleToAllUsers":true,"JobFlowRole":"EMR_EC2_DefaultRole","ServiceRole":"EMR_DefaultRole"}`)
	add("RunJobFlow", `{"Name":"c","Instances":{"InstanceCount":-1,"MasterInstanceType":"local.small"}}`)
	add("RunJobFlow", `{"Instances":{}}`)
	add("RunJobFlow", `{"Name":"c","Bogus":1}`)
	add("RunJobFlow", `{"Name":1}`)
	add("RunJobFlow", `{"Name":"c"`)
	add("RunJobFlow", `{"Name":"c"} {}`)
	add("RunJobFlow", `[]`)
	add("RunJobFlow", ``)
	add("DescribeCluster", `{"ClusterId":"j-FUZZ"}`)
	add("DescribeCluster", `{"ClusterId":"j-NOPE"}`)
	add("DescribeCluster", `{}`)
	add("ListClusters", `{"ClusterStates":["STARTING","WAITING"],"CreatedAfter":1700000000.5,"CreatedBefore":2e9,"Marker":"0"}`)
	add("ListClusters", `{"ClusterStates":["NOPE"],"Marker":"-1","CreatedAfter":"yesterday"}`)
	add("TerminateJobFlows", `{"JobFlowIds":["j-NOPE","j-OTHER"]}`)
	add("AddJobFlowSteps", `{"JobFlowId":"j-FUZZ","Steps":[{"Name":"s","ActionOnFailure":"cancel_and_wait","HadoopJarStep":{"Jar":"script-runner.jar","Args":["/s.sh"]}}]}`)
	add("AddJobFlowSteps", `{"JobFlowId":"j-FUZZ","Steps":[{"Name":"","HadoopJarStep":{"Jar":"command-runner.jar"}}]}`)
	add("ListSteps", `{"ClusterId":"j-FUZZ","StepStates":["PENDING"],"StepIds":["s-FUZZ"],"Marker":"1"}`)
	add("DescribeStep", `{"ClusterId":"j-FUZZ","StepId":"s-FUZZ"}`)
	add("DescribeStep", `{"ClusterId":"j-FUZZ","StepId":"s-NOPE"}`)
	add("CancelSteps", `{"ClusterId":"j-FUZZ","StepIds":["s-FUZZ","s-NOPE"],"StepCancellationOption":"SEND_INTERRUPT"}`)
	add("ListInstanceGroups", `{"ClusterId":"j-FUZZ","Marker":"x"}`)
	add("ListInstances", `{"ClusterId":"j-FUZZ","InstanceGroupId":"ig-FUZZ","InstanceGroupTypes":["CORE"],"InstanceStates":["RUNNING"]}`)
	add("ListBootstrapActions", `{"ClusterId":"j-FUZZ"}`)
	add("SetTerminationProtection", `{"JobFlowIds":["j-FUZZ"],"TerminationProtected":false}`)
	add("SetTerminationProtection", `{"JobFlowIds":[]}`)
	add("SetKeepJobFlowAliveWhenNoSteps", `{"JobFlowIds":["j-FUZZ"],"KeepJobFlowAliveWhenNoSteps":true}`)
	add("ModifyCluster", `{"ClusterId":"j-FUZZ","StepConcurrencyLevel":300,"ExtendedSupport":null}`)
	add("PutAutoTerminationPolicy", `{"ClusterId":"j-FUZZ","AutoTerminationPolicy":{"IdleTimeout":59}}`)
	add("GetAutoTerminationPolicy", `{"ClusterId":"j-FUZZ"}`)
	add("RemoveAutoTerminationPolicy", `{"ClusterId":"j-FUZZ"}`)
	add("AddInstanceGroups", `{"JobFlowId":"j-FUZZ","InstanceGroups":[{"InstanceRole":"TASK","InstanceType":"local.small","InstanceCount":1}]}`)
	add("ModifyInstanceGroups", `{"InstanceGroups":[{"InstanceGroupId":"ig-FUZZ","InstanceCount":2}]}`)
	add("ModifyInstanceGroups", `{"ClusterId":"j-FUZZ","InstanceGroups":[{"InstanceGroupId":"ig-NOPE","InstanceCount":-5}]}`)
	add("AddTags", `{"ResourceId":"j-FUZZ","Tags":[{"Key":"k","Value":"v"},{"Key":""}]}`)
	add("RemoveTags", `{"ResourceId":"j-FUZZ","TagKeys":["k"]}`)

	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		op := fuzzOps[int(opIndex)%len(fuzzOps)]
		defer hangGuard(t, op+" "+string(body))()
		if op != "TerminateJobFlows" { // keep the shared cluster alive
			body = []byte(e.replacer.Replace(string(body)))
		}
		before := 0
		if op == "RunJobFlow" {
			before = e.clusters(t)
		}
		w := e.do(t, op, body)
		if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Fatalf("%s %q: Content-Type %q", op, body, ct)
		}
		if w.Code == http.StatusOK {
			var out map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %q: 200 with a body that is not a JSON object: %q", op, body, w.Body)
			}
			if op == "RunJobFlow" && e.clusters(t) != before+1 {
				t.Fatalf("RunJobFlow %q: answered 200 but created %d clusters", body, e.clusters(t)-before)
			}
			return
		}
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, w.Code, w.Body)
		}
		var ae struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ae); err != nil || ae.Type == "" || ae.Message == "" {
			t.Fatalf("%s %q: %d with a body that is not an AWS error: %q", op, body, w.Code, w.Body)
		}
		if h := w.Header().Get("X-Amzn-ErrorType"); h != ae.Type {
			t.Fatalf("%s %q: X-Amzn-ErrorType %q, __type %q", op, body, h, ae.Type)
		}
		if !locatesProblem(ae.Message) {
			t.Fatalf("%s %q: %s %q names no member, value or position", op, body, ae.Type, ae.Message)
		}
		if op == "RunJobFlow" && e.clusters(t) != before {
			t.Fatalf("RunJobFlow %q: refused (%s) but created a cluster", body, ae.Message)
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

// hangLimit is far above what any request takes (milliseconds, with
// SQLite).
const hangLimit = 5 * time.Second

// problemLocated matches the ways an EMR error message points at what is
// wrong: a field path ("instance-groups[1].InstanceCount: ..."), a member
// EMR-style ("at 'clusterId'"), a Go JSON member ("Go struct field
// X.Y", `unknown field "X"`), a quoted value, the id of the cluster, group
// or step concerned, a byte offset, or the body as a whole.
var problemLocated = regexp.MustCompile(`^[A-Za-z][\w.\[\]-]*: |at '[^']*'|Go struct field \S|unknown field "|(?:'[^']*'|"[^"]*") is not valid|\b(?:j|ig|s|i)-[0-9A-Za-z]+|byte \d|body: must be a JSON object`)

func locatesProblem(msg string) bool { return problemLocated.MatchString(msg) }

// TestMalformedBodyLocated: a body that is not JSON, is cut short or is not
// an object is refused with the byte where it goes wrong, or as the body,
// never with Go's type names.
func TestMalformedBodyLocated(t *testing.T) {
	e := newFuzzEnv(t)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"syntax error", `{"Name":x}`, "malformed request: body: invalid character 'x' looking for beginning of value (at byte 9)"},
		{"cut short", `{"Name":"c"`, "malformed request: body: ends inside a JSON value (at byte 11); send one complete JSON object"},
		{"not an object", `["Name"]`, "malformed request: body: must be a JSON object, got a JSON array"},
		{"member of the wrong type", `{"Name":1}`, ".Name of type string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, "RunJobFlow", []byte(tc.body))
			var ae struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			json.Unmarshal(w.Body.Bytes(), &ae)
			if w.Code != http.StatusBadRequest || ae.Type != "SerializationException" {
				t.Fatalf("%d %s %q, want 400 SerializationException", w.Code, ae.Type, ae.Message)
			}
			if !strings.Contains(ae.Message, tc.want) {
				t.Errorf("message %q, want it to contain %q", ae.Message, tc.want)
			}
			if strings.Contains(ae.Message, "struct {") {
				t.Errorf("message %q shows a Go type", ae.Message)
			}
		})
	}
}
