package hearth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ClusterSpec is a request to create a cluster: the members of EMR's
// RunJobFlow that Hearth acts on, in the shape the CLI and native API send.
type ClusterSpec struct {
	Name                 string                `json:"Name"`
	ReleaseLabel         string                `json:"ReleaseLabel"`
	InstanceGroups       []InstanceGroupConfig `json:"InstanceGroups"`
	Tags                 []Tag                 `json:"Tags,omitempty"`
	Applications         []Application         `json:"Applications,omitempty"`
	AutoTerminate        bool                  `json:"AutoTerminate,omitempty"`
	TerminationProtected bool                  `json:"TerminationProtected,omitempty"`
	// Provisioner names the infrastructure: "local" (default).
	Provisioner string `json:"Provisioner,omitempty"`
	// Steps run once the cluster is ready, in order.
	Steps []StepConfig `json:"Steps,omitempty"`
	// LogUri is where step logs are copied: file:///dir or /dir.
	LogUri string `json:"LogUri,omitempty"`
	// StepConcurrencyLevel is how many steps may run at once (1..256).
	StepConcurrencyLevel int `json:"StepConcurrencyLevel,omitempty"`
	// IdleTimeout terminates the cluster after this many idle seconds
	// (EMR's AutoTerminationPolicy); 0 disables it.
	IdleTimeout int64 `json:"IdleTimeout,omitempty"`
	// Configurations apply to every node; an instance group's own apply
	// over them on its nodes.
	Configurations []Configuration `json:"Configurations,omitempty"`
	// BootstrapActions run on every node, in order, before Spark starts.
	BootstrapActions []BootstrapAction `json:"BootstrapActions,omitempty"`
}

// InstanceGroupConfig is EMR's InstanceGroupConfig. Members EMR accepts but
// that mean nothing to Hearth's provisioners (EBS volumes, AMIs, autoscaling
// policies) are accepted and ignored so existing JSON keeps working.
type InstanceGroupConfig struct {
	Name              string `json:"Name,omitempty"`
	InstanceGroupType Role   `json:"InstanceGroupType"`
	InstanceType      string `json:"InstanceType"`
	InstanceCount     int    `json:"InstanceCount"`
	Market            string `json:"Market,omitempty"`
	BidPrice          string `json:"BidPrice,omitempty"`

	EbsConfiguration  any             `json:"EbsConfiguration,omitempty"`
	AutoScalingPolicy any             `json:"AutoScalingPolicy,omitempty"`
	CustomAmiId       any             `json:"CustomAmiId,omitempty"`
	Configurations    []Configuration `json:"Configurations,omitempty"`
}

// DefaultClusterName is the name EMR's CLI gives a cluster created without one.
const DefaultClusterName = "Development Cluster"

// Limits on a cluster spec.
const (
	MaxNameLength     = 256
	MaxTaskGroups     = 48
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	MaxTags           = 50
)

// NewCluster validates spec and builds the cluster it asks for, with ids,
// its instance groups and one node per requested instance, in state
// STARTING. sparkVersion is the Spark version the release label resolved to.
// Every rejection is a *ValidationError naming the field.
func NewCluster(spec ClusterSpec, sparkVersion string, now time.Time) (*Cluster, []*Node, error) {
	name := spec.Name
	if name == "" {
		name = DefaultClusterName
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return nil, nil, Invalid("name", fmt.Sprintf("%d characters", utf8.RuneCountInString(name)), fmt.Sprintf("must be at most %d characters", MaxNameLength))
	}
	provisioner := spec.Provisioner
	if provisioner == "" {
		provisioner = "local"
	}
	groups, err := validateGroups(spec.InstanceGroups)
	if err != nil {
		return nil, nil, err
	}
	if err := validateTags(spec.Tags); err != nil {
		return nil, nil, err
	}
	level := spec.StepConcurrencyLevel
	if level == 0 {
		level = 1
	}
	if level < 1 || level > MaxStepConcurrency {
		return nil, nil, Invalid("step-concurrency-level", fmt.Sprint(level), fmt.Sprintf("must be between 1 and %d", MaxStepConcurrency))
	}
	if err := ValidateLogURI(spec.LogUri); err != nil {
		return nil, nil, err
	}
	if err := CheckActiveSteps(0, len(spec.Steps)); err != nil {
		return nil, nil, err
	}
	if spec.IdleTimeout != 0 && (spec.IdleTimeout < 60 || spec.IdleTimeout > 7*24*3600) {
		return nil, nil, Invalid("auto-termination-policy.IdleTimeout", fmt.Sprint(spec.IdleTimeout), "must be between 60 and 604800 seconds (7 days), as in EMR")
	}
	apps, err := NormalizeApplications(spec.Applications, sparkVersion)
	if err != nil {
		return nil, nil, err
	}
	if err := ValidateConfigurations("configurations", spec.Configurations); err != nil {
		return nil, nil, err
	}
	for i, g := range spec.InstanceGroups {
		if err := ValidateConfigurations(fmt.Sprintf("instance-groups[%d].Configurations", i), g.Configurations); err != nil {
			return nil, nil, err
		}
	}
	if err := ValidateBootstrapActions(spec.BootstrapActions); err != nil {
		return nil, nil, err
	}

	id := NewClusterID()
	created := now.UTC()
	c := &Cluster{
		Id:                   id,
		Name:                 name,
		ClusterArn:           ClusterARN("", id),
		ReleaseLabel:         spec.ReleaseLabel,
		SparkVersion:         sparkVersion,
		Applications:         apps,
		Tags:                 slices.Clone(spec.Tags),
		AutoTerminate:        spec.AutoTerminate,
		TerminationProtected: spec.TerminationProtected,
		Provisioner:          provisioner,
		StepConcurrencyLevel: level,
		LogUri:               spec.LogUri,
		IdleTimeout:          spec.IdleTimeout,
		Configurations:       spec.Configurations,
		BootstrapActions:     spec.BootstrapActions,
		Status: ClusterStatus{
			State:             ClusterStarting,
			StateChangeReason: StateChangeReason{Message: "Provisioning nodes"},
			Timeline:          ClusterTimeline{CreationDateTime: &created},
		},
		InstanceGroups: groups,
	}
	if c.Tags == nil {
		c.Tags = []Tag{}
	}
	var nodes []*Node
	for _, g := range c.InstanceGroups {
		for range g.RequestedInstanceCount {
			nodes = append(nodes, NewNode(c, &g, now))
		}
	}
	return c, nodes, nil
}

// NewNode returns a PROVISIONING node for group g of cluster c.
func NewNode(c *Cluster, g *InstanceGroup, now time.Time) *Node {
	created := now.UTC()
	return &Node{
		Id:              NewNodeID(),
		ClusterId:       c.Id,
		InstanceGroupId: g.Id,
		Role:            g.InstanceGroupType,
		InstanceType:    g.InstanceType,
		State:           NodeProvisioning,
		RunsWorker:      g.InstanceGroupType != RoleMaster || c.MasterRunsWorker(),
		Timeline:        NodeTimeline{CreationDateTime: &created},
		PlanVersion:     1,
	}
}

func validateGroups(cfgs []InstanceGroupConfig) ([]InstanceGroup, error) {
	if len(cfgs) == 0 {
		return nil, Invalid("instance-groups", "", "a cluster needs instance groups: give --instance-groups, or --instance-type with --instance-count")
	}
	var groups []InstanceGroup
	masters, cores, tasks := 0, 0, 0
	haMasters, workers := false, 0
	for i, cfg := range cfgs {
		field := fmt.Sprintf("instance-groups[%d]", i)
		role := Role(strings.ToUpper(string(cfg.InstanceGroupType)))
		switch role {
		case RoleMaster:
			masters++
			if cfg.InstanceCount != 1 && cfg.InstanceCount != HAMasters {
				return nil, Invalid(field+".InstanceCount", fmt.Sprint(cfg.InstanceCount), "the MASTER group has 1 instance, or 3 for a highly available cluster (a ZooKeeper ensemble elects the active Spark master)")
			}
			haMasters = cfg.InstanceCount == HAMasters
		case RoleCore:
			cores++
		case RoleTask:
			tasks++
		default:
			return nil, Invalid(field+".InstanceGroupType", fmt.Sprintf("%q", cfg.InstanceGroupType), "must be MASTER, CORE or TASK")
		}
		if cfg.InstanceCount < 0 {
			return nil, Invalid(field+".InstanceCount", fmt.Sprint(cfg.InstanceCount), "must be >= 0")
		}
		if cfg.InstanceCount > 256 {
			return nil, Invalid(field+".InstanceCount", fmt.Sprint(cfg.InstanceCount), "must be <= 256")
		}
		if cfg.InstanceType == "" {
			return nil, Invalid(field+".InstanceType", "", "required, e.g. m5.xlarge or local.medium")
		}
		it, err := LookupInstanceType(field+".InstanceType", cfg.InstanceType)
		if err != nil {
			return nil, err
		}
		market := strings.ToUpper(cfg.Market)
		switch market {
		case "":
			market = "ON_DEMAND"
		case "ON_DEMAND", "SPOT":
		default:
			return nil, Invalid(field+".Market", fmt.Sprintf("%q", cfg.Market), "must be ON_DEMAND or SPOT")
		}
		name := cfg.Name
		if name == "" {
			name = map[Role]string{RoleMaster: "Master", RoleCore: "Core", RoleTask: "Task"}[role] + " Instance Group"
		}
		if cfg.BidPrice != "" && cfg.BidPrice != "OnDemandPrice" {
			if p, err := strconv.ParseFloat(cfg.BidPrice, 64); err != nil || p <= 0 || p > 10000 {
				return nil, Invalid(field+".BidPrice", cfg.BidPrice, "a price in USD per hour, e.g. 0.10, or OnDemandPrice")
			}
			if market != "SPOT" {
				return nil, Invalid(field+".BidPrice", cfg.BidPrice, "only a SPOT group has a bid price; add Market=SPOT")
			}
		}
		ebs, err := ebsConfiguration(field+".EbsConfiguration", cfg.EbsConfiguration)
		if err != nil {
			return nil, err
		}
		if role != RoleMaster {
			workers += cfg.InstanceCount
		}
		groups = append(groups, InstanceGroup{
			Id:                     NewInstanceGroupID(),
			Name:                   name,
			InstanceGroupType:      role,
			InstanceType:           it.Name,
			Market:                 market,
			BidPrice:               strings.TrimPrefix(cfg.BidPrice, "OnDemandPrice"),
			EbsConfiguration:       ebs,
			RequestedInstanceCount: cfg.InstanceCount,
			State:                  GroupProvisioning,
			Spark:                  it.SparkWorker(),
			Configurations:         cfg.Configurations,
		})
	}
	switch {
	case masters != 1:
		return nil, Invalid("instance-groups", fmt.Sprintf("%d MASTER groups", masters), "exactly one instance group must have InstanceGroupType MASTER")
	case cores > 1:
		return nil, Invalid("instance-groups", fmt.Sprintf("%d CORE groups", cores), "at most one instance group may be CORE; add TASK groups for more")
	case tasks > MaxTaskGroups:
		return nil, Invalid("instance-groups", fmt.Sprintf("%d TASK groups", tasks), fmt.Sprintf("at most %d TASK groups", MaxTaskGroups))
	case haMasters && workers == 0:
		return nil, Invalid("instance-groups", "3 MASTER instances and no CORE or TASK instances", "a cluster with 3 master nodes runs its executors on CORE nodes: add InstanceGroupType=CORE,InstanceCount=1 or more")
	}
	return groups, nil
}

// ebsConfiguration reads EMR's EbsConfiguration, given as any JSON value
// (the spec accepts EMR's JSON as it is), checking what EC2 would refuse.
func ebsConfiguration(field string, v any) (*EbsConfiguration, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, Invalid(field, fmt.Sprint(v), err.Error())
	}
	var ebs EbsConfiguration
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ebs); err != nil {
		return nil, Invalid(field, string(b), "EMR's shape: {\"EbsBlockDeviceConfigs\":[{\"VolumeSpecification\":{\"VolumeType\":\"gp3\",\"SizeInGB\":100},\"VolumesPerInstance\":1}]}: "+err.Error())
	}
	for i, d := range ebs.EbsBlockDeviceConfigs {
		f := fmt.Sprintf("%s.EbsBlockDeviceConfigs[%d]", field, i)
		switch vs := d.VolumeSpecification; {
		case !slices.Contains([]string{"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"}, vs.VolumeType):
			return nil, Invalid(f+".VolumeSpecification.VolumeType", vs.VolumeType, "one of gp2, gp3, io1, io2, st1, sc1, standard")
		case vs.SizeInGB < 1 || vs.SizeInGB > 16384:
			return nil, Invalid(f+".VolumeSpecification.SizeInGB", fmt.Sprint(vs.SizeInGB), "between 1 and 16384")
		case d.VolumesPerInstance < 0 || d.VolumesPerInstance > 23:
			return nil, Invalid(f+".VolumesPerInstance", fmt.Sprint(d.VolumesPerInstance), "between 1 and 23")
		}
	}
	return &ebs, nil
}

// InstanceGroupsFromCount expands EMR's --instance-type/--instance-count
// form: one master and count-1 core nodes of the same type.
func InstanceGroupsFromCount(instanceType string, count int) ([]InstanceGroupConfig, error) {
	if instanceType == "" {
		return nil, Invalid("instance-type", "", "required with --instance-count; or give --instance-groups")
	}
	if count < 1 {
		return nil, Invalid("instance-count", fmt.Sprint(count), "must be >= 1 (one master, the rest core nodes)")
	}
	groups := []InstanceGroupConfig{{InstanceGroupType: RoleMaster, InstanceType: instanceType, InstanceCount: 1}}
	if count > 1 {
		groups = append(groups, InstanceGroupConfig{InstanceGroupType: RoleCore, InstanceType: instanceType, InstanceCount: count - 1})
	}
	return groups, nil
}

// AddTags adds tags to the cluster, replacing the value of a key it
// already has (EMR's AddTags). The tags are checked as at creation, and the
// cluster may end with at most MaxTags; on error nothing changes.
func (c *Cluster) AddTags(tags []Tag) error {
	if err := validateTags(tags); err != nil {
		return err
	}
	merged := slices.Clone(c.Tags)
	for _, t := range tags {
		merged = slices.DeleteFunc(merged, func(o Tag) bool { return o.Key == t.Key })
		merged = append(merged, t)
	}
	if len(merged) > MaxTags {
		return Invalid("tags", fmt.Sprintf("%d tags after adding", len(merged)), fmt.Sprintf("a cluster has at most %d tags; remove some first", MaxTags))
	}
	c.Tags = merged
	return nil
}

func validateTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return Invalid("tags", fmt.Sprint(len(tags)), fmt.Sprintf("at most %d tags", MaxTags))
	}
	for i, t := range tags {
		field := fmt.Sprintf("tags[%d]", i)
		switch {
		case t.Key == "":
			return Invalid(field+".Key", "", "must not be empty; write tags as Key=Value")
		case utf8.RuneCountInString(t.Key) > MaxTagKeyLength:
			return Invalid(field+".Key", t.Key, fmt.Sprintf("must be at most %d characters", MaxTagKeyLength))
		case utf8.RuneCountInString(t.Value) > MaxTagValueLength:
			return Invalid(field+".Value", t.Value, fmt.Sprintf("must be at most %d characters", MaxTagValueLength))
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return Invalid(field+".Key", t.Key, "the aws: prefix is reserved")
		}
	}
	return nil
}

// CutS3 splits an s3://, s3a:// or s3n:// URI into its bucket and key;
// ok is false for any other URI.
func CutS3(uri string) (bucket, key string, ok bool) {
	for _, scheme := range []string{"s3://", "s3a://", "s3n://"} {
		if rest, found := strings.CutPrefix(uri, scheme); found {
			bucket, key, _ = strings.Cut(rest, "/")
			return bucket, key, true
		}
	}
	return "", "", false
}

// validBucket applies S3's bucket naming rules, the parts a typo breaks.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '.' || b[0] == '-' || b[len(b)-1] == '.' || b[len(b)-1] == '-' {
		return false
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// ValidateLogURI accepts an empty URI, s3://bucket/prefix (s3a://, s3n://
// too), file:///absolute/dir, or an absolute path, without ".." components
// or control characters (NUL, newline): the server writes step logs under
// it, so it must say plainly where.
func ValidateLogURI(uri string) error {
	if uri == "" {
		return nil
	}
	if hasControl(uri) {
		return Invalid("log-uri", strconv.Quote(uri), "must not contain control characters (NUL, newline, ...)")
	}
	if bucket, _, ok := CutS3(uri); ok {
		if !validBucket(bucket) {
			return Invalid("log-uri", uri, "the bucket name must be 3-63 lowercase letters, digits, dots or hyphens: s3://my-bucket/logs/")
		}
		return nil
	}
	path, _ := strings.CutPrefix(uri, "file://")
	if !strings.HasPrefix(path, "/") {
		return Invalid("log-uri", uri, "must be file:///absolute/dir or an absolute path")
	}
	if slices.Contains(strings.Split(path, "/"), "..") {
		return Invalid("log-uri", uri, "must not contain .. components; give the directory's own absolute path")
	}
	return nil
}
