package emr_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/emr"
	"github.com/aws/aws-sdk-go-v2/service/emr/types"

	"github.com/hearthcluster/hearth"
)

func (e *tenv) clusterCount(t *testing.T) int {
	t.Helper()
	cs, err := e.cp.ListClusters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// signedHeaders rewrites the SignedHeaders of r's Authorization header.
func signedHeaders(r *http.Request, f func(string) string) {
	re := regexp.MustCompile(`SignedHeaders=([^,]*)`)
	r.Header.Set("Authorization", re.ReplaceAllStringFunc(r.Header.Get("Authorization"), func(m string) string {
		return "SignedHeaders=" + f(strings.TrimPrefix(m, "SignedHeaders="))
	}))
}

// TestEMRSignedHeaders: a signature must cover host, x-amz-date and
// x-amz-target; one that leaves any out is refused before it is judged.
func TestEMRSignedHeaders(t *testing.T) {
	e := newTestEnv(t)
	good := aws.Credentials{AccessKeyID: e.keyID, SecretAccessKey: e.secret}
	victim := e.runJobFlow(t, "victim")

	// A request signed without its target, the target added afterwards:
	// whoever sees a signed request must not be able to turn it into
	// another operation.
	body := []byte(`{"JobFlowIds":["` + victim + `"]}`)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), good, req, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "ElasticMapReduce.TerminateJobFlows")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var eb struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 400 || eb.Type != "IncompleteSignatureException" || !strings.Contains(eb.Message, "SignedHeaders: must include x-amz-target") {
		t.Errorf("unsigned X-Amz-Target: %d %s %q", resp.StatusCode, eb.Type, eb.Message)
	}
	if st := describe(t, e.client, victim).Status.State; st != types.ClusterStateStarting {
		t.Errorf("the victim cluster is %s", st)
	}

	for _, name := range []string{"host", "x-amz-date", "x-amz-target"} {
		st, typ, msg := e.raw(t, "ListClusters", []byte(`{}`), &good, "us-east-1", time.Now(), func(r *http.Request) {
			signedHeaders(r, func(v string) string {
				var keep []string
				for _, h := range strings.Split(v, ";") {
					if h != name {
						keep = append(keep, h)
					}
				}
				return strings.Join(keep, ";")
			})
		})
		if st != 400 || typ != "IncompleteSignatureException" || !strings.Contains(msg, "SignedHeaders: must include "+name) {
			t.Errorf("signature without %s: %d %s %q", name, st, typ, msg)
		}
	}
}

// TestEMRRefusesBadInput: what the CLI refuses, the EMR API refuses, with
// the field named, and nothing is created.
func TestEMRRefusesBadInput(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	good := aws.Credentials{AccessKeyID: e.keyID, SecretAccessKey: e.secret}
	runJobFlow := func(instances string) []byte {
		return []byte(`{"Name":"bad","ReleaseLabel":"spark-4.0.1","Instances":` + instances + `}`)
	}
	valid := runJobFlow(`{"MasterInstanceType":"local.small","InstanceCount":2,"KeepJobFlowAliveWhenNoSteps":true}`)

	t.Run("body over the limit", func(t *testing.T) {
		big := []byte(`{"Name":"big","AdditionalInfo":"` + strings.Repeat("x", hearth.MaxRequestBytes+1024) + `"}`)
		for _, creds := range []*aws.Credentials{&good, nil} {
			st, typ, msg := e.raw(t, "RunJobFlow", big, creds, "us-east-1", time.Now(), nil)
			if st != 413 || typ != "RequestEntityTooLargeException" || !strings.HasPrefix(msg, "body: must be at most 8388608 bytes") {
				t.Errorf("signed %v: %d %s %q", creds != nil, st, typ, msg)
			}
		}
	})
	t.Run("bytes after the JSON", func(t *testing.T) {
		for _, tail := range []string{`{}`, ` x`, `]`} {
			st, typ, msg := e.raw(t, "RunJobFlow", append(append([]byte{}, valid...), tail...), &good, "us-east-1", time.Now(), nil)
			if st != 400 || typ != "SerializationException" || !strings.Contains(msg, "body: more data after the JSON object") {
				t.Errorf("tail %q: %d %s %q", tail, st, typ, msg)
			}
		}
	})
	t.Run("InstanceCount", func(t *testing.T) {
		for _, n := range []int32{-2, 0} {
			_, err := e.client.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"), Instances: &types.JobFlowInstancesConfig{
				MasterInstanceType: aws.String("local.small"), InstanceCount: aws.Int32(n)}})
			apiErr(t, err, "InvalidRequestException", 400, fmt.Sprintf("instance-count: must be >= 1 (one master, the rest core nodes), got %d", n))
		}
	})
	t.Run("LogUri", func(t *testing.T) {
		for _, uri := range []string{"logs", "/tmp/../etc", "file:///tmp/a\x00b"} {
			_, err := e.client.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"), LogUri: aws.String(uri),
				Instances: &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1)}})
			apiErr(t, err, "InvalidRequestException", 400, "log-uri: ")
		}
	})
	t.Run("configuration value with a newline", func(t *testing.T) {
		_, err := e.client.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"),
			Instances:      &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1)},
			Configurations: []types.Configuration{{Classification: aws.String("spark-defaults"), Properties: map[string]string{"spark.x": "1\nspark.y=2"}}}})
		apiErr(t, err, "InvalidRequestException", 400, `configurations[0].Properties["spark.x"]: spark-defaults property values must be single lines`)
	})
	t.Run("tags", func(t *testing.T) {
		_, err := e.client.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("bad"),
			Instances: &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1)},
			Tags:      []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("x")}}})
		apiErr(t, err, "InvalidRequestException", 400, "tags[0].Key: the aws: prefix is reserved")
	})
	if n := e.clusterCount(t); n != 0 {
		t.Fatalf("refused requests created %d clusters", n)
	}
	if st, typ, msg := e.raw(t, "RunJobFlow", valid, &good, "us-east-1", time.Now(), nil); st != 200 {
		t.Fatalf("the valid request: %d %s %q", st, typ, msg)
	}

	t.Run("AddTags", func(t *testing.T) {
		id := e.runJobFlow(t, "tagged")
		if _, err := e.client.AddTags(ctx, &emr.AddTagsInput{ResourceId: aws.String(id), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}); err != nil {
			t.Fatal(err)
		}
		var many []types.Tag
		for i := range hearth.MaxTags {
			many = append(many, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		}
		for _, tc := range []struct {
			tags []types.Tag
			want string
		}{
			{[]types.Tag{{Key: aws.String("ok"), Value: aws.String("1")}, {Key: aws.String(""), Value: aws.String("v")}}, "tags[1].Key: must not be empty"},
			{[]types.Tag{{Key: aws.String("AWS:x"), Value: aws.String("v")}}, "tags[0].Key: the aws: prefix is reserved"},
			{[]types.Tag{{Key: aws.String(strings.Repeat("k", hearth.MaxTagKeyLength+1))}}, "tags[0].Key: must be at most 128 characters"},
			{[]types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", hearth.MaxTagValueLength+1))}}, "tags[0].Value: must be at most 256 characters"},
			{many, "tags: a cluster has at most 50 tags"},
		} {
			_, err := e.client.AddTags(ctx, &emr.AddTagsInput{ResourceId: aws.String(id), Tags: tc.tags})
			apiErr(t, err, "InvalidRequestException", 400, tc.want)
		}
		if got := tagMap(describe(t, e.client, id).Tags); len(got) != 1 || got["team"] != "data" {
			t.Errorf("refused AddTags changed the tags: %v", got)
		}
	})
}

// TestEMRActiveStepLimit: EMR's 256 PENDING or RUNNING steps per cluster.
func TestEMRActiveStepLimit(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.runJobFlow(t, "busy")
	steps := func(n int) []types.StepConfig {
		var out []types.StepConfig
		for i := range n {
			out = append(out, types.StepConfig{Name: aws.String(fmt.Sprintf("s%d", i)),
				HadoopJarStep: &types.HadoopJarStepConfig{Jar: aws.String("command-runner.jar"), Args: []string{"echo", "hi"}}})
		}
		return out
	}
	if _, err := e.client.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: steps(hearth.MaxActiveSteps)}); err != nil {
		t.Fatalf("256 steps: %v", err)
	}
	_, err := e.client.AddJobFlowSteps(ctx, &emr.AddJobFlowStepsInput{JobFlowId: aws.String(id), Steps: steps(1)})
	apiErr(t, err, "InvalidRequestException", 400, "steps: a cluster may have at most 256 PENDING or RUNNING steps")
	if got, err := e.cp.ListSteps(ctx, id, nil, nil); err != nil || len(got) != hearth.MaxActiveSteps {
		t.Errorf("%d steps stored (%v), want %d", len(got), err, hearth.MaxActiveSteps)
	}
	// A new cluster's own steps count too.
	_, err = e.client.RunJobFlow(ctx, &emr.RunJobFlowInput{Name: aws.String("too busy"), Steps: steps(hearth.MaxActiveSteps + 1),
		Instances: &types.JobFlowInstancesConfig{InstanceGroups: instanceGroups(1)}})
	apiErr(t, err, "InvalidRequestException", 400, "steps: ")
	if n := e.clusterCount(t); n != 1 {
		t.Errorf("%d clusters, want 1", n)
	}
}

// TestEMRJupyterTokenNotShown: neither DescribeCluster nor ListClusters
// carries the cluster's JupyterLab token.
func TestEMRJupyterTokenNotShown(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.runJobFlow(t, "notebook")
	const token = "jupyter-secret-0123456789"
	if _, err := e.cp.ModifyCluster(ctx, id, func(c *hearth.Cluster) error {
		c.Spark.JupyterURL, c.Spark.JupyterToken = "http://127.0.0.1:8888/", token
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for op, body := range map[string]string{"DescribeCluster": `{"ClusterId":"` + id + `"}`, "ListClusters": `{}`} {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "ElasticMapReduce."+op)
		sum := sha256.Sum256([]byte(body))
		v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: e.keyID, SecretAccessKey: e.secret}, req, hex.EncodeToString(sum[:]), "elasticmapreduce", "us-east-1", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(out), id) {
			t.Fatalf("%s: %d %s", op, resp.StatusCode, out)
		}
		if strings.Contains(string(out), token) {
			t.Errorf("%s shows the Jupyter token: %s", op, out)
		}
	}
}
