package hearth_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth"
)

var (
	clusterIDRe = regexp.MustCompile(`^j-[A-Z0-9]{13}$`)
	groupIDRe   = regexp.MustCompile(`^ig-[A-Z0-9]{13}$`)
	nodeIDRe    = regexp.MustCompile(`^i-[0-9a-f]{17}$`)
)

var now = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func group(role hearth.Role, typ string, count int) hearth.InstanceGroupConfig {
	return hearth.InstanceGroupConfig{InstanceGroupType: role, InstanceType: typ, InstanceCount: count}
}

// checkInvalid asserts err is a *ValidationError for field wrapping ErrInvalid.
func checkInvalid(t *testing.T, err error, field string) *hearth.ValidationError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want an invalid %s", field)
	}
	if !errors.Is(err, hearth.ErrInvalid) {
		t.Errorf("error %q does not wrap ErrInvalid", err)
	}
	var ve *hearth.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %q (%T) is not a *ValidationError", err, err)
	}
	if ve.Field != field {
		t.Errorf("Field = %q, want %q (error: %s)", ve.Field, field, err)
	}
	return ve
}

func TestNewCluster(t *testing.T) {
	spec := hearth.ClusterSpec{
		ReleaseLabel: "emr-7.2.0",
		InstanceGroups: []hearth.InstanceGroupConfig{
			group(hearth.RoleMaster, "local.small", 1),
			group(hearth.RoleCore, "m5.xlarge", 2),
		},
	}
	c, nodes, err := hearth.NewCluster(spec, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	if !clusterIDRe.MatchString(c.Id) {
		t.Errorf("cluster id %q does not match %s", c.Id, clusterIDRe)
	}
	if !strings.HasSuffix(c.ClusterArn, ":cluster/"+c.Id) {
		t.Errorf("ClusterArn %q does not end in the cluster id", c.ClusterArn)
	}
	if c.Name != "Development Cluster" {
		t.Errorf("Name = %q, want the default %q", c.Name, "Development Cluster")
	}
	if c.Status.State != hearth.ClusterStarting {
		t.Errorf("State = %s, want STARTING", c.Status.State)
	}
	if ct := c.Status.Timeline.CreationDateTime; ct == nil || !ct.Equal(now) {
		t.Errorf("CreationDateTime = %v, want %v", ct, now)
	}
	if c.Provisioner != "local" {
		t.Errorf("Provisioner = %q, want the default local", c.Provisioner)
	}
	if len(c.Applications) != 1 || c.Applications[0].Name != "Spark" || c.Applications[0].Version != "3.5.1" {
		t.Errorf("Applications = %+v, want Spark 3.5.1", c.Applications)
	}
	if len(c.InstanceGroups) != 2 {
		t.Fatalf("got %d instance groups, want 2", len(c.InstanceGroups))
	}
	for _, g := range c.InstanceGroups {
		if !groupIDRe.MatchString(g.Id) {
			t.Errorf("group id %q does not match %s", g.Id, groupIDRe)
		}
		if g.Market != "ON_DEMAND" || g.State != hearth.GroupProvisioning {
			t.Errorf("group %s: Market %q State %s, want ON_DEMAND PROVISIONING", g.Id, g.Market, g.State)
		}
	}
	if core := c.InstanceGroups[1]; core.Spark != (hearth.NodeResources{Cores: 4, MemoryMB: 12288}) {
		t.Errorf("m5.xlarge core Spark resources = %+v, want 4 cores and 12288 MiB (75%% of 16 GiB)", core.Spark)
	}
	if c.ExpectedWorkers() != 2 || c.MasterRunsWorker() {
		t.Errorf("ExpectedWorkers = %d, MasterRunsWorker = %v; want 2, false", c.ExpectedWorkers(), c.MasterRunsWorker())
	}

	if len(nodes) != 3 {
		t.Fatalf("got %d nodes, want 3", len(nodes))
	}
	roles := map[hearth.Role]int{}
	seen := map[string]bool{}
	for _, n := range nodes {
		if !nodeIDRe.MatchString(n.Id) {
			t.Errorf("node id %q does not match %s", n.Id, nodeIDRe)
		}
		if seen[n.Id] {
			t.Errorf("node id %s repeated", n.Id)
		}
		seen[n.Id] = true
		if n.State != hearth.NodeProvisioning {
			t.Errorf("node %s State = %s, want PROVISIONING", n.Id, n.State)
		}
		if n.ClusterId != c.Id {
			t.Errorf("node %s ClusterId = %s, want %s", n.Id, n.ClusterId, c.Id)
		}
		g := c.Group(n.InstanceGroupId)
		if g == nil || g.InstanceGroupType != n.Role || g.InstanceType != n.InstanceType {
			t.Errorf("node %s (%s %s) does not belong to a matching group: %+v", n.Id, n.Role, n.InstanceType, g)
		}
		if want := n.Role != hearth.RoleMaster; n.RunsWorker != want {
			t.Errorf("node %s (%s) RunsWorker = %v, want %v", n.Id, n.Role, n.RunsWorker, want)
		}
		roles[n.Role]++
	}
	if roles[hearth.RoleMaster] != 1 || roles[hearth.RoleCore] != 2 {
		t.Errorf("node roles = %v, want 1 MASTER and 2 CORE", roles)
	}
}

func TestNewClusterMasterOnly(t *testing.T) {
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{
		Name:           "solo",
		InstanceGroups: []hearth.InstanceGroupConfig{group(hearth.RoleMaster, "local.medium", 1)},
	}, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	if c.Name != "solo" {
		t.Errorf("Name = %q, want solo", c.Name)
	}
	if len(nodes) != 1 {
		t.Fatalf("got %d nodes, want 1", len(nodes))
	}
	if !nodes[0].RunsWorker {
		t.Error("master of a master-only cluster does not run a worker")
	}
	if got := c.ExpectedWorkers(); got != 1 {
		t.Errorf("ExpectedWorkers = %d, want 1", got)
	}
	if !c.MasterRunsWorker() {
		t.Error("MasterRunsWorker = false, want true")
	}
}

func TestNewClusterInvalid(t *testing.T) {
	master := group(hearth.RoleMaster, "local.small", 1)
	core := group(hearth.RoleCore, "local.small", 2)
	withGroups := func(gs ...hearth.InstanceGroupConfig) hearth.ClusterSpec {
		return hearth.ClusterSpec{InstanceGroups: gs}
	}
	withTags := func(tags ...hearth.Tag) hearth.ClusterSpec {
		s := withGroups(master, core)
		s.Tags = tags
		return s
	}
	tests := []struct {
		name        string
		spec        hearth.ClusterSpec
		field       string
		msgContains string
	}{
		{"negative InstanceCount", withGroups(master, group(hearth.RoleCore, "local.small", -2)), "instance-groups[1].InstanceCount", "-2"},
		{"MASTER count 2", withGroups(group(hearth.RoleMaster, "local.small", 2)), "instance-groups[0].InstanceCount", "or 3 for a highly available cluster"},
		{"3 masters, no CORE", withGroups(group(hearth.RoleMaster, "local.small", 3)), "instance-groups", "add InstanceGroupType=CORE"},
		{"no MASTER", withGroups(core), "instance-groups", "MASTER"},
		{"no groups", withGroups(), "instance-groups", "instance groups"},
		{"two CORE groups", withGroups(master, core, core), "instance-groups", "CORE"},
		{"bad InstanceGroupType", withGroups(master, group("WORKER", "local.small", 1)), "instance-groups[1].InstanceGroupType", `"WORKER"`},
		{"missing InstanceType", withGroups(master, group(hearth.RoleCore, "", 1)), "instance-groups[1].InstanceType", "required"},
		{"unknown InstanceType", withGroups(master, group(hearth.RoleCore, "m99.huge", 1)), "instance-groups[1].InstanceType", "local.medium"},
		{"bad Market", func() hearth.ClusterSpec {
			c := core
			c.Market = "RESERVED"
			return withGroups(master, c)
		}(), "instance-groups[1].Market", "ON_DEMAND or SPOT"},
		{"empty tag key", withTags(hearth.Tag{Key: "ok", Value: "1"}, hearth.Tag{Value: "v"}), "tags[1].Key", "must not be empty"},
		{"aws: tag prefix", withTags(hearth.Tag{Key: "AWS:owner", Value: "v"}), "tags[0].Key", "aws:"},
		{"too-long name", hearth.ClusterSpec{Name: strings.Repeat("é", hearth.MaxNameLength+1), InstanceGroups: []hearth.InstanceGroupConfig{master}}, "name", "257"},
		{"too many steps", func() hearth.ClusterSpec {
			s := withGroups(master)
			s.Steps = make([]hearth.StepConfig, hearth.MaxActiveSteps+1)
			return s
		}(), "steps", "at most 256 PENDING or RUNNING steps"},
		{"unsupported application", hearth.ClusterSpec{
			InstanceGroups: []hearth.InstanceGroupConfig{master},
			Applications:   []hearth.Application{{Name: "spark"}, {Name: "Hive"}},
		}, "applications[1].Name", `"Hive"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, nodes, err := hearth.NewCluster(tc.spec, "3.5.1", now)
			if c != nil || nodes != nil {
				t.Errorf("NewCluster returned a cluster (%v) or nodes (%d) with an error", c, len(nodes))
			}
			checkInvalid(t, err, tc.field)
			if err != nil && !strings.Contains(err.Error(), tc.msgContains) {
				t.Errorf("error %q does not mention %q", err, tc.msgContains)
			}
		})
	}
}

func TestNewClusterAcceptsLimits(t *testing.T) {
	spec := hearth.ClusterSpec{
		Name: strings.Repeat("é", hearth.MaxNameLength),
		InstanceGroups: []hearth.InstanceGroupConfig{
			{InstanceGroupType: "master", InstanceType: "local.small", InstanceCount: 1, Market: "spot"},
			group(hearth.RoleCore, "local.small", 0),
			group(hearth.RoleTask, "local.small", 1),
			group(hearth.RoleTask, "local.small", 1),
		},
		Applications: []hearth.Application{{Name: "spark"}},
	}
	c, nodes, err := hearth.NewCluster(spec, "3.5.1", now)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	if len(nodes) != 3 {
		t.Errorf("got %d nodes, want 3 (1 master, 0 core, 2 task)", len(nodes))
	}
	if g := c.InstanceGroups[0]; g.InstanceGroupType != hearth.RoleMaster || g.Market != "SPOT" {
		t.Errorf("master group = %s %s, want the role and market upper-cased", g.InstanceGroupType, g.Market)
	}
	if c.MasterRunsWorker() {
		t.Error("MasterRunsWorker = true for a cluster with TASK nodes")
	}
}

func TestInstanceGroupsFromCount(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		count     int
		wantRoles []hearth.Role
		wantCount []int
		badField  string
	}{
		{name: "three", typ: "m5.xlarge", count: 3, wantRoles: []hearth.Role{hearth.RoleMaster, hearth.RoleCore}, wantCount: []int{1, 2}},
		{name: "one", typ: "m5.xlarge", count: 1, wantRoles: []hearth.Role{hearth.RoleMaster}, wantCount: []int{1}},
		{name: "zero", typ: "m5.xlarge", count: 0, badField: "instance-count"},
		{name: "missing type", typ: "", count: 3, badField: "instance-type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := hearth.InstanceGroupsFromCount(tc.typ, tc.count)
			if tc.badField != "" {
				checkInvalid(t, err, tc.badField)
				return
			}
			if err != nil {
				t.Fatalf("InstanceGroupsFromCount: %v", err)
			}
			if len(groups) != len(tc.wantRoles) {
				t.Fatalf("got %d groups, want %d: %+v", len(groups), len(tc.wantRoles), groups)
			}
			for i, g := range groups {
				if g.InstanceGroupType != tc.wantRoles[i] || g.InstanceCount != tc.wantCount[i] || g.InstanceType != tc.typ {
					t.Errorf("group %d = %s×%d %s, want %s×%d %s", i, g.InstanceGroupType, g.InstanceCount, g.InstanceType, tc.wantRoles[i], tc.wantCount[i], tc.typ)
				}
			}
			// The expansion must itself be a valid cluster.
			if _, nodes, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: groups}, "3.5.1", now); err != nil || len(nodes) != tc.count {
				t.Errorf("NewCluster from the groups = %d nodes, %v; want %d nodes", len(nodes), err, tc.count)
			}
		})
	}
}

func TestValidateLogURI(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want string // "" means valid
	}{
		{"", ""},
		{"/var/log/hearth", ""},
		{"file:///var/log/hearth", ""},
		{"file:///", ""},
		{"/var/log/..hidden/x", ""}, // a name that starts with dots is no parent
		{"logs/here", "absolute"},
		{"file://logs/here", "absolute"},
		{"http://example.com/logs", "absolute"},
		{"s3://bucket/logs", ""},
		{"s3n://bucket/logs/", ""},
		{"s3://B/logs", "bucket name"},
		{"/var/log/../../etc", ".. components"},
		{"file:///var/log/..", ".. components"},
		{"/var/log/x\x00y", "control characters"},
		{"/var/log/x\ny", "control characters"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			err := hearth.ValidateLogURI(tc.uri)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ValidateLogURI(%q) = %v, want nil", tc.uri, err)
				}
				return
			}
			checkInvalid(t, err, "log-uri")
			if err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			// NewCluster refuses it the same way, and builds nothing.
			c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{LogUri: tc.uri, InstanceGroups: []hearth.InstanceGroupConfig{group(hearth.RoleMaster, "local.small", 1)}}, "3.5.1", now)
			if c != nil || nodes != nil {
				t.Errorf("NewCluster built a cluster with log-uri %q", tc.uri)
			}
			checkInvalid(t, err, "log-uri")
		})
	}
}

func TestClusterAddTags(t *testing.T) {
	newCluster := func(t *testing.T) *hearth.Cluster {
		c, _, err := hearth.NewCluster(hearth.ClusterSpec{
			InstanceGroups: []hearth.InstanceGroupConfig{group(hearth.RoleMaster, "local.small", 1)},
			Tags:           []hearth.Tag{{Key: "team", Value: "data"}, {Key: "env", Value: "test"}},
		}, "3.5.1", now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("adds and replaces", func(t *testing.T) {
		c := newCluster(t)
		if err := c.AddTags([]hearth.Tag{{Key: "team", Value: "ml"}, {Key: "owner", Value: "me"}}); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tg := range c.Tags {
			got[tg.Key] = tg.Value
		}
		if len(c.Tags) != 3 || got["team"] != "ml" || got["env"] != "test" || got["owner"] != "me" {
			t.Errorf("tags = %v", c.Tags)
		}
	})
	many := make([]hearth.Tag, hearth.MaxTags-1)
	for i := range many {
		many[i] = hearth.Tag{Key: fmt.Sprintf("k%d", i)}
	}
	for _, tc := range []struct {
		name, field, want string
		tags              []hearth.Tag
	}{
		{"empty key", "tags[1].Key", "must not be empty", []hearth.Tag{{Key: "ok"}, {Value: "v"}}},
		{"aws: prefix", "tags[0].Key", "aws:", []hearth.Tag{{Key: "aws:owner", Value: "v"}}},
		{"long key", "tags[0].Key", "at most 128", []hearth.Tag{{Key: strings.Repeat("k", hearth.MaxTagKeyLength+1)}}},
		{"long value", "tags[0].Value", "at most 256", []hearth.Tag{{Key: "k", Value: strings.Repeat("v", hearth.MaxTagValueLength+1)}}},
		{"more than 50 in all", "tags", "at most 50", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			checkInvalid(t, c.AddTags(tc.tags), tc.field)
			if err := c.AddTags(tc.tags); err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if len(c.Tags) != 2 {
				t.Errorf("a refused AddTags changed the tags: %v", c.Tags)
			}
		})
	}
}

func TestCheckActiveSteps(t *testing.T) {
	if err := hearth.CheckActiveSteps(hearth.MaxActiveSteps-2, 2); err != nil {
		t.Errorf("up to the limit: %v", err)
	}
	ve := checkInvalid(t, hearth.CheckActiveSteps(hearth.MaxActiveSteps-1, 2), "steps")
	if ve != nil && !strings.Contains(ve.Value, "2 more with 255") {
		t.Errorf("Value = %q, want the counts", ve.Value)
	}
}

func TestParseLogOffset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"4096", 4096, false},
		{"9007199254740991", hearth.MaxLogOffset, false},
		{"9007199254740992", 0, true},
		{"99999999999999999999", 0, true},
		{"-1", 0, true},
		{"12abc", 0, true},
		{"0x10", 0, true},
		{" 1", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := hearth.ParseLogOffset(tc.in)
			if tc.bad {
				checkInvalid(t, err, "offset")
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseLogOffset(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestNewClusterThreeMasters: EMR's highly available shape, three master
// nodes and CORE nodes, makes three master nodes, none running a worker.
func TestNewClusterThreeMasters(t *testing.T) {
	c, nodes, err := hearth.NewCluster(hearth.ClusterSpec{InstanceGroups: []hearth.InstanceGroupConfig{
		group(hearth.RoleMaster, "local.small", 3), group(hearth.RoleCore, "local.small", 2)}}, "4.0.1", now)
	if err != nil {
		t.Fatal(err)
	}
	masters := 0
	for _, n := range nodes {
		if n.Role == hearth.RoleMaster {
			masters++
			if n.RunsWorker {
				t.Errorf("master node %s runs a worker", n.Id)
			}
		}
	}
	if masters != 3 || !c.HighlyAvailable() || c.ExpectedWorkers() != 2 {
		t.Errorf("%d master nodes, highly available %v, %d workers expected; want 3, true, 2", masters, c.HighlyAvailable(), c.ExpectedWorkers())
	}
}
