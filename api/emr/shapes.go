package emr

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/hearthcluster/hearth"
)

// epoch is a timestamp as AWS JSON 1.1 sends it: seconds since the epoch,
// with a fraction.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', 3, 64)), nil
}

func (e *epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	*e = epoch(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	return nil
}

func ts(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	e := epoch(*t)
	return &e
}

// Output shapes: EMR's member names (botocore's service-2.json); nil
// members are omitted.

type stateChangeReason struct {
	Code    string `json:"Code,omitempty"`
	Message string `json:"Message,omitempty"`
}

type timeline struct {
	CreationDateTime *epoch `json:"CreationDateTime,omitempty"`
	ReadyDateTime    *epoch `json:"ReadyDateTime,omitempty"`
	StartDateTime    *epoch `json:"StartDateTime,omitempty"`
	EndDateTime      *epoch `json:"EndDateTime,omitempty"`
}

type clusterStatus struct {
	State             string            `json:"State"`
	StateChangeReason stateChangeReason `json:"StateChangeReason"`
	Timeline          timeline          `json:"Timeline"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type application struct {
	Name    string `json:"Name"`
	Version string `json:"Version,omitempty"`
}

type ec2Attributes struct {
	Ec2AvailabilityZone string `json:"Ec2AvailabilityZone,omitempty"`
}

type cluster struct {
	Id                      string         `json:"Id"`
	Name                    string         `json:"Name"`
	Status                  clusterStatus  `json:"Status"`
	Ec2InstanceAttributes   ec2Attributes  `json:"Ec2InstanceAttributes"`
	InstanceCollectionType  string         `json:"InstanceCollectionType"`
	LogUri                  string         `json:"LogUri,omitempty"`
	ReleaseLabel            string         `json:"ReleaseLabel,omitempty"`
	AutoTerminate           bool           `json:"AutoTerminate"`
	TerminationProtected    bool           `json:"TerminationProtected"`
	VisibleToAllUsers       bool           `json:"VisibleToAllUsers"`
	Applications            []application  `json:"Applications"`
	Tags                    []tag          `json:"Tags"`
	NormalizedInstanceHours int            `json:"NormalizedInstanceHours"`
	MasterPublicDnsName     string         `json:"MasterPublicDnsName,omitempty"`
	ScaleDownBehavior       string         `json:"ScaleDownBehavior"`
	ClusterArn              string         `json:"ClusterArn"`
	StepConcurrencyLevel    int            `json:"StepConcurrencyLevel"`
	Configurations          []any          `json:"Configurations"`
	Hearth                  *hearthMembers `json:"Hearth,omitempty"`
}

// hearthMembers carries what EMR's shape has no place for; SDKs ignore it.
type hearthMembers struct {
	SparkMasterURL string   `json:"SparkMasterURL,omitempty"`
	SparkUIURL     string   `json:"SparkUIURL,omitempty"`
	Notes          []string `json:"Notes,omitempty"`
}

func clusterOut(c *hearth.Cluster) cluster {
	out := cluster{
		Id: c.Id, Name: c.Name,
		Status:                 statusOut(c.Status),
		Ec2InstanceAttributes:  ec2Attributes{Ec2AvailabilityZone: hearth.DefaultRegion + "a"},
		InstanceCollectionType: "INSTANCE_GROUP",
		LogUri:                 c.LogUri, ReleaseLabel: c.ReleaseLabel,
		AutoTerminate: c.AutoTerminate, TerminationProtected: c.TerminationProtected, VisibleToAllUsers: true,
		Applications: []application{}, Tags: tagsOut(c.Tags),
		NormalizedInstanceHours: c.NormalizedInstanceHours, MasterPublicDnsName: c.MasterPublicDnsName,
		ScaleDownBehavior: "TERMINATE_AT_TASK_COMPLETION", ClusterArn: c.ClusterArn,
		StepConcurrencyLevel: max(c.StepConcurrencyLevel, 1),
		Configurations:       configurationsOut(c.Configurations),
		Hearth:               &hearthMembers{SparkMasterURL: c.Spark.MasterURL, SparkUIURL: c.Spark.UIURL, Notes: c.Notes},
	}
	for _, a := range c.Applications {
		out.Applications = append(out.Applications, application{Name: a.Name, Version: a.Version})
	}
	return out
}

func statusOut(s hearth.ClusterStatus) clusterStatus {
	return clusterStatus{
		State:             string(s.State),
		StateChangeReason: stateChangeReason{Code: string(s.StateChangeReason.Code), Message: s.StateChangeReason.Message},
		Timeline: timeline{
			CreationDateTime: ts(s.Timeline.CreationDateTime),
			ReadyDateTime:    ts(s.Timeline.ReadyDateTime),
			EndDateTime:      ts(s.Timeline.EndDateTime),
		},
	}
}

func tagsOut(tags []hearth.Tag) []tag {
	out := []tag{}
	for _, t := range tags {
		out = append(out, tag{t.Key, t.Value})
	}
	return out
}

type clusterSummary struct {
	Id                      string        `json:"Id"`
	Name                    string        `json:"Name"`
	Status                  clusterStatus `json:"Status"`
	NormalizedInstanceHours int           `json:"NormalizedInstanceHours"`
	ClusterArn              string        `json:"ClusterArn"`
}

type hadoopStepConfig struct {
	Jar        string            `json:"Jar"`
	Properties map[string]string `json:"Properties"`
	MainClass  string            `json:"MainClass,omitempty"`
	Args       []string          `json:"Args"`
}

type failureDetails struct {
	Reason  string `json:"Reason,omitempty"`
	Message string `json:"Message,omitempty"`
	LogFile string `json:"LogFile,omitempty"`
}

type stepStatus struct {
	State             string            `json:"State"`
	StateChangeReason stateChangeReason `json:"StateChangeReason"`
	FailureDetails    *failureDetails   `json:"FailureDetails,omitempty"`
	Timeline          timeline          `json:"Timeline"`
}

type step struct {
	Id              string           `json:"Id"`
	Name            string           `json:"Name"`
	Config          hadoopStepConfig `json:"Config"`
	ActionOnFailure string           `json:"ActionOnFailure"`
	Status          stepStatus       `json:"Status"`
}

func stepOut(s *hearth.Step) step {
	props := map[string]string{}
	for _, kv := range s.Config.Properties {
		props[kv.Key] = kv.Value
	}
	out := step{
		Id: s.Id, Name: s.Name, ActionOnFailure: string(s.ActionOnFailure),
		Config: hadoopStepConfig{Jar: s.Config.Jar, Properties: props, MainClass: s.Config.MainClass, Args: s.Config.Args},
		Status: stepStatus{
			State:             string(s.Status.State),
			StateChangeReason: stateChangeReason{Code: s.Status.StateChangeReason.Code, Message: s.Status.StateChangeReason.Message},
			Timeline: timeline{
				CreationDateTime: ts(s.Status.Timeline.CreationDateTime),
				StartDateTime:    ts(s.Status.Timeline.StartDateTime),
				EndDateTime:      ts(s.Status.Timeline.EndDateTime),
			},
		},
	}
	if fd := s.Status.FailureDetails; fd != nil {
		out.Status.FailureDetails = &failureDetails{Reason: fd.Reason, Message: fd.Message, LogFile: fd.LogFile}
	}
	if out.Config.Args == nil {
		out.Config.Args = []string{}
	}
	return out
}

type groupStatus struct {
	State             string            `json:"State"`
	StateChangeReason stateChangeReason `json:"StateChangeReason"`
	Timeline          timeline          `json:"Timeline"`
}

type instanceGroup struct {
	Id                     string      `json:"Id"`
	Name                   string      `json:"Name"`
	Market                 string      `json:"Market"`
	InstanceGroupType      string      `json:"InstanceGroupType"`
	InstanceType           string      `json:"InstanceType"`
	RequestedInstanceCount int         `json:"RequestedInstanceCount"`
	RunningInstanceCount   int         `json:"RunningInstanceCount"`
	Status                 groupStatus `json:"Status"`
	Configurations         []any       `json:"Configurations"`
	EbsBlockDevices        []any       `json:"EbsBlockDevices"`
}

type instance struct {
	Id               string      `json:"Id"`
	Ec2InstanceId    string      `json:"Ec2InstanceId"`
	PrivateDnsName   string      `json:"PrivateDnsName,omitempty"`
	PrivateIpAddress string      `json:"PrivateIpAddress,omitempty"`
	PublicDnsName    string      `json:"PublicDnsName,omitempty"`
	PublicIpAddress  string      `json:"PublicIpAddress,omitempty"`
	Status           groupStatus `json:"Status"`
	InstanceGroupId  string      `json:"InstanceGroupId"`
	Market           string      `json:"Market"`
	InstanceType     string      `json:"InstanceType"`
	EbsVolumes       []any       `json:"EbsVolumes"`
}

// EMR's instance states for Hearth's node states.
var instanceState = map[hearth.NodeState]string{
	hearth.NodeProvisioning:  "PROVISIONING",
	hearth.NodeBootstrapping: "BOOTSTRAPPING",
	hearth.NodeRunning:       "RUNNING",
	hearth.NodeTerminated:    "TERMINATED",
	hearth.NodeFailed:        "TERMINATED",
}

func instanceOut(n *hearth.Node, market string) instance {
	st := groupStatus{State: instanceState[n.State], Timeline: timeline{
		CreationDateTime: ts(n.Timeline.CreationDateTime), ReadyDateTime: ts(n.Timeline.ReadyDateTime), EndDateTime: ts(n.Timeline.EndDateTime),
	}}
	switch n.State {
	case hearth.NodeFailed:
		st.StateChangeReason = stateChangeReason{Code: "INSTANCE_FAILURE", Message: n.StateMessage}
	case hearth.NodeTerminated:
		st.StateChangeReason = stateChangeReason{Code: "CLUSTER_TERMINATED", Message: n.StateMessage}
	}
	return instance{
		Id: n.Id, Ec2InstanceId: n.Id, PrivateIpAddress: n.Host, PrivateDnsName: n.Host, PublicDnsName: n.Host, PublicIpAddress: n.Host,
		Status: st, InstanceGroupId: n.InstanceGroupId, Market: market, InstanceType: n.InstanceType, EbsVolumes: []any{},
	}
}

// Input shapes.

type keyValue struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type hadoopJarStepConfig struct {
	Properties []keyValue `json:"Properties"`
	Jar        string     `json:"Jar"`
	MainClass  string     `json:"MainClass"`
	Args       []string   `json:"Args"`
}

type stepConfig struct {
	Name            string              `json:"Name"`
	ActionOnFailure string              `json:"ActionOnFailure"`
	HadoopJarStep   hadoopJarStepConfig `json:"HadoopJarStep"`
}

func stepsIn(in []stepConfig) []hearth.StepConfig {
	var out []hearth.StepConfig
	for _, s := range in {
		cfg := hearth.StepConfig{Name: s.Name, ActionOnFailure: hearth.ActionOnFailure(s.ActionOnFailure),
			HadoopJarStep: hearth.HadoopJarStepConfig{Jar: s.HadoopJarStep.Jar, MainClass: s.HadoopJarStep.MainClass, Args: s.HadoopJarStep.Args}}
		for _, kv := range s.HadoopJarStep.Properties {
			cfg.HadoopJarStep.Properties = append(cfg.HadoopJarStep.Properties, hearth.KeyValue{Key: kv.Key, Value: kv.Value})
		}
		out = append(out, cfg)
	}
	return out
}

type instanceGroupConfig struct {
	Name              string                 `json:"Name"`
	Market            string                 `json:"Market"`
	InstanceRole      string                 `json:"InstanceRole"`
	BidPrice          string                 `json:"BidPrice"`
	InstanceType      string                 `json:"InstanceType"`
	InstanceCount     int                    `json:"InstanceCount"`
	Configurations    []hearth.Configuration `json:"Configurations"`
	EbsConfiguration  json.RawMessage        `json:"EbsConfiguration"`
	AutoScalingPolicy json.RawMessage        `json:"AutoScalingPolicy"`
	CustomAmiId       string                 `json:"CustomAmiId"`
}

func groupsIn(in []instanceGroupConfig) []hearth.InstanceGroupConfig {
	var out []hearth.InstanceGroupConfig
	for _, g := range in {
		out = append(out, hearth.InstanceGroupConfig{Name: g.Name, InstanceGroupType: hearth.Role(g.InstanceRole),
			InstanceType: g.InstanceType, InstanceCount: g.InstanceCount, Market: g.Market, BidPrice: g.BidPrice,
			Configurations: g.Configurations})
	}
	return out
}

func tagsIn(in []tag) []hearth.Tag {
	var out []hearth.Tag
	for _, t := range in {
		out = append(out, hearth.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

func configurationsOut(cs []hearth.Configuration) []any {
	out := []any{}
	for _, c := range cs {
		out = append(out, c)
	}
	return out
}
