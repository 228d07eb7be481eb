package shorthand_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/shorthand"
)

type VolumeSpecification struct {
	VolumeType string `json:"VolumeType"`
	SizeInGB   int32  `json:"SizeInGB"`
	Iops       *int32 `json:"Iops,omitempty"`
}

type EbsBlockDeviceConfig struct {
	VolumeSpecification VolumeSpecification `json:"VolumeSpecification"`
	VolumesPerInstance  *int32              `json:"VolumesPerInstance,omitempty"`
}

type EbsConfiguration struct {
	EbsOptimized          *bool                  `json:"EbsOptimized,omitempty"`
	EbsBlockDeviceConfigs []EbsBlockDeviceConfig `json:"EbsBlockDeviceConfigs,omitempty"`
}

type Configuration struct {
	Classification string            `json:"Classification"`
	Properties     map[string]string `json:"Properties,omitempty"`
	Configurations []Configuration   `json:"Configurations,omitempty"`
}

type InstanceGroup struct {
	Name              *string           `json:"Name,omitempty"`
	InstanceGroupType string            `json:"InstanceGroupType"`
	InstanceType      string            `json:"InstanceType"`
	InstanceCount     int32             `json:"InstanceCount"`
	BidPrice          *string           `json:"BidPrice,omitempty"`
	EbsConfiguration  *EbsConfiguration `json:"EbsConfiguration,omitempty"`
	Configurations    []Configuration   `json:"Configurations,omitempty"`
}

type Step struct {
	Type            string   `json:"Type"`
	Name            string   `json:"Name"`
	ActionOnFailure string   `json:"ActionOnFailure"`
	Jar             string   `json:"Jar"`
	Args            []string `json:"Args"`
	MainClass       string   `json:"MainClass"`
	Properties      string   `json:"Properties"`
}

type BootstrapAction struct {
	Path string   `json:"Path"`
	Name string   `json:"Name"`
	Args []string `json:"Args"`
}

type Application struct {
	Name string   `json:"Name"`
	Args []string `json:"Args,omitempty"`
}

type Base struct {
	ID string `json:"Id"`
}

type Kitchen struct {
	Base
	Count    int               `json:"Count"`
	Big      int64             `json:"Big"`
	Small    uint8             `json:"Small"`
	Ratio    float64           `json:"Ratio"`
	Enabled  bool              `json:"Enabled"`
	PEnabled *bool             `json:"PEnabled"`
	Tags     map[string]string `json:"Tags"`
	Counts   map[string]int    `json:"Counts"`
	Ports    []int             `json:"Ports"`
	Raw      any               `json:"Raw"`
	NoTag    string
	Skipped  string `json:"-"`
	hidden   string //nolint:unused
}

func ptr[T any](v T) *T { return &v }

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dst  any // pointer to a zero value of the target type
		want any
	}{
		{
			name: "instance group",
			in:   "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge",
			dst:  &InstanceGroup{},
			want: &InstanceGroup{InstanceGroupType: "MASTER", InstanceCount: 1, InstanceType: "m5.xlarge"},
		},
		{
			name: "instance group with pointers and nested structs",
			in: "Name=Core nodes,InstanceGroupType=CORE,InstanceCount=2,InstanceType=m5.xlarge,BidPrice=0.5," +
				"EbsConfiguration={EbsOptimized=TRUE,EbsBlockDeviceConfigs=[{VolumeSpecification={VolumeType=gp3,SizeInGB=100,Iops=3000},VolumesPerInstance=2}]}",
			dst: &InstanceGroup{},
			want: &InstanceGroup{
				Name: ptr("Core nodes"), InstanceGroupType: "CORE", InstanceCount: 2, InstanceType: "m5.xlarge", BidPrice: ptr("0.5"),
				EbsConfiguration: &EbsConfiguration{
					EbsOptimized: ptr(true),
					EbsBlockDeviceConfigs: []EbsBlockDeviceConfig{{
						VolumeSpecification: VolumeSpecification{VolumeType: "gp3", SizeInGB: 100, Iops: ptr[int32](3000)},
						VolumesPerInstance:  ptr[int32](2),
					}},
				},
			},
		},
		{
			name: "spark step",
			in:   `Type=SPARK,Name="My app",ActionOnFailure=CONTINUE,Args=[--deploy-mode,cluster,s3://b/wordcount.py,s3://b/in.txt]`,
			dst:  &Step{},
			want: &Step{Type: "SPARK", Name: "My app", ActionOnFailure: "CONTINUE",
				Args: []string{"--deploy-mode", "cluster", "s3://b/wordcount.py", "s3://b/in.txt"}},
		},
		{
			name: "custom jar step",
			in:   "Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-submit,--conf,spark.x=y,app.py]",
			dst:  &Step{},
			want: &Step{Type: "CUSTOM_JAR", Jar: "command-runner.jar",
				Args: []string{"spark-submit", "--conf", "spark.x=y", "app.py"}},
		},
		{
			name: "step Properties is a plain string (EMR splits it later)",
			in:   `Jar=x.jar,MainClass=Main,Properties="k1=v1,k2=v2"`,
			dst:  &Step{},
			want: &Step{Jar: "x.jar", MainClass: "Main", Properties: "k1=v1,k2=v2"},
		},
		{
			name: "bootstrap action",
			in:   "Path=s3://b/boot.sh,Name=Install,Args=[a,b]",
			dst:  &BootstrapAction{},
			want: &BootstrapAction{Path: "s3://b/boot.sh", Name: "Install", Args: []string{"a", "b"}},
		},
		{
			name: "application",
			in:   "Name=Spark",
			dst:  &Application{},
			want: &Application{Name: "Spark"},
		},
		{
			name: "implicit list",
			in:   "Name=Hive,Args=a,b,c",
			dst:  &Application{},
			want: &Application{Name: "Hive", Args: []string{"a", "b", "c"}},
		},
		{
			name: "scalar where a list is expected becomes a one-element list",
			in:   "Path=s3://b/boot.sh,Args=only",
			dst:  &BootstrapAction{},
			want: &BootstrapAction{Path: "s3://b/boot.sh", Args: []string{"only"}},
		},
		{
			name: "empty value where a list is expected is a list of one empty string (as aws CLI)",
			in:   "Path=p,Args=",
			dst:  &BootstrapAction{},
			want: &BootstrapAction{Path: "p", Args: []string{""}},
		},
		{
			name: "empty list",
			in:   "Path=p,Args=[]",
			dst:  &BootstrapAction{},
			want: &BootstrapAction{Path: "p", Args: []string{}},
		},
		{
			name: "configurations with map and nested list of structs",
			in:   "Classification=spark-env,Configurations=[{Classification=export,Properties={PYSPARK_PYTHON=/usr/bin/python3}}]",
			dst:  &Configuration{},
			want: &Configuration{Classification: "spark-env", Configurations: []Configuration{{
				Classification: "export", Properties: map[string]string{"PYSPARK_PYTHON": "/usr/bin/python3"},
			}}},
		},
		{
			name: "single struct where a list of structs is expected",
			in:   "Classification=a,Configurations={Classification=b}",
			dst:  &Configuration{},
			want: &Configuration{Classification: "a", Configurations: []Configuration{{Classification: "b"}}},
		},
		{
			name: "all supported kinds",
			in: "Id=x,Count= 42 ,Big=-9000000000,Small=255,Ratio=0.25,Enabled=False,PEnabled=true," +
				"Tags={env=prod,team=data},Counts={a=1},Ports=[80,443],Raw=[a,{b=c}],NoTag=n",
			dst: &Kitchen{},
			want: &Kitchen{Base: Base{ID: "x"}, Count: 42, Big: -9000000000, Small: 255, Ratio: 0.25,
				Enabled: false, PEnabled: ptr(true),
				Tags: map[string]string{"env": "prod", "team": "data"}, Counts: map[string]int{"a": 1},
				Ports: []int{80, 443}, Raw: []any{"a", map[string]any{"b": "c"}}, NoTag: "n"},
		},
		{
			name: "map target",
			in:   "a=1,b=2",
			dst:  &map[string]int{},
			want: &map[string]int{"a": 1, "b": 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := shorthand.Unmarshal(tt.in, tt.dst); err != nil {
				t.Fatalf("Unmarshal(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(tt.dst, tt.want) {
				t.Errorf("Unmarshal(%q)\n got: %+v\nwant: %+v", tt.in, tt.dst, tt.want)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		dst       any
		wantKey   string
		wantValue string
		wantMsg   string // exact Error() output if non-empty
		wantAll   []string
	}{
		{
			name:      "unknown key",
			in:        "InstanceGroupType=MASTER,InstanceCont=1,InstanceType=m5.xlarge",
			dst:       &InstanceGroup{},
			wantValue: "InstanceCont",
			wantMsg: `unknown key "InstanceCont"; valid keys: BidPrice, Configurations, EbsConfiguration, ` +
				`InstanceCount, InstanceGroupType, InstanceType, Name (did you mean "InstanceCount"?)`,
		},
		{
			name:      "unknown key differing only in case",
			in:        "instancecount=1",
			dst:       &InstanceGroup{},
			wantValue: "instancecount",
			wantAll:   []string{`unknown key "instancecount"`, `did you mean "InstanceCount"? keys are case-sensitive`},
		},
		{
			name:      "unknown nested key",
			in:        "EbsConfiguration={EbsOptimised=true}",
			dst:       &InstanceGroup{},
			wantKey:   "EbsConfiguration",
			wantValue: "EbsOptimised",
			wantAll:   []string{`EbsConfiguration: unknown key "EbsOptimised"`, "valid keys: EbsBlockDeviceConfigs, EbsOptimized", `did you mean "EbsOptimized"?`},
		},
		{
			name:      "unknown key from an implicit list item containing =",
			in:        "Type=CUSTOM_JAR,Jar=x.jar,Args=--conf,spark.x=y",
			dst:       &Step{},
			wantValue: "spark.x",
			wantAll:   []string{`unknown key "spark.x"`},
		},
		{
			name:      "bad int",
			in:        "InstanceGroupType=MASTER,InstanceCount=two,InstanceType=m5.xlarge",
			dst:       &InstanceGroup{},
			wantKey:   "InstanceCount",
			wantValue: "two",
			wantMsg:   `InstanceCount: "two" is not an integer`,
		},
		{
			name:      "int out of range",
			in:        "InstanceCount=3000000000",
			dst:       &InstanceGroup{},
			wantKey:   "InstanceCount",
			wantValue: "3000000000",
			wantMsg:   `InstanceCount: "3000000000" is out of range for a 32-bit value`,
		},
		{
			name:    "empty int",
			in:      "InstanceCount=",
			dst:     &InstanceGroup{},
			wantKey: "InstanceCount",
			wantMsg: "InstanceCount: missing value: expected an integer",
		},
		{
			name:      "bad nested int",
			in:        "EbsConfiguration={EbsBlockDeviceConfigs=[{VolumeSpecification={VolumeType=gp3,SizeInGB=big}}]}",
			dst:       &InstanceGroup{},
			wantKey:   "EbsConfiguration.EbsBlockDeviceConfigs[0].VolumeSpecification.SizeInGB",
			wantValue: "big",
			wantMsg:   `EbsConfiguration.EbsBlockDeviceConfigs[0].VolumeSpecification.SizeInGB: "big" is not an integer`,
		},
		{
			name:      "bad bool",
			in:        "EbsConfiguration={EbsOptimized=yes}",
			dst:       &InstanceGroup{},
			wantKey:   "EbsConfiguration.EbsOptimized",
			wantValue: "yes",
			wantMsg:   `EbsConfiguration.EbsOptimized: "yes" is not a boolean; use true or false`,
		},
		{
			name:      "bad float",
			in:        "Ratio=half",
			dst:       &Kitchen{},
			wantKey:   "Ratio",
			wantValue: "half",
			wantMsg:   `Ratio: "half" is not a number`,
		},
		{
			name:      "bad list element",
			in:        "Ports=[80,http]",
			dst:       &Kitchen{},
			wantKey:   "Ports[1]",
			wantValue: "http",
			wantMsg:   `Ports[1]: "http" is not an integer`,
		},
		{
			name:      "list where a single value is expected (unquoted comma)",
			in:        "Name=a,b",
			dst:       &Step{},
			wantKey:   "Name",
			wantValue: "[a,b]",
			wantAll:   []string{"Name: expected a single value, got the list [a,b]", `quote it, e.g. Name="a,..."`, `if "b" was meant as another key, write b=Value`},
		},
		{
			name:      "string where a structure is expected",
			in:        "EbsConfiguration=gp2",
			dst:       &InstanceGroup{},
			wantKey:   "EbsConfiguration",
			wantValue: "gp2",
			wantAll:   []string{`EbsConfiguration: expected a structure, got the value "gp2"`, "EbsConfiguration={Key=Value,...}"},
		},
		{
			name:    "string where a map is expected",
			in:      "Classification=x,Properties=a",
			dst:     &Configuration{},
			wantKey: "Properties",
			wantAll: []string{"expected key=value pairs", "Properties={key1=value1,key2=value2}"},
		},
		{
			name:    "structure where a string is expected",
			in:      "Name={a=b}",
			dst:     &Step{},
			wantKey: "Name",
			wantAll: []string{"Name: expected a single value, got the structure {a=b}"},
		},
		{
			name:      "json:\"-\" field is not a key",
			in:        "Skipped=x",
			dst:       &Kitchen{},
			wantValue: "Skipped",
			wantAll:   []string{`unknown key "Skipped"`, "NoTag", "Id"},
		},
		{
			name:      "unexported field is not a key",
			in:        "hidden=x",
			dst:       &Kitchen{},
			wantValue: "hidden",
			wantAll:   []string{`unknown key "hidden"`},
		},
		{
			name:    "syntax error: missing =",
			in:      "InstanceGroupType MASTER",
			dst:     &InstanceGroup{},
			wantAll: []string{`missing '=' after key "InstanceGroupType"`, "^"},
		},
		{
			name:    "syntax error: unclosed [",
			in:      "Args=[a,b",
			dst:     &Step{},
			wantKey: "Args",
			wantAll: []string{"unclosed '['"},
		},
		{
			name:    "syntax error: trailing comma",
			in:      "Name=x,Jar=y,",
			dst:     &Step{},
			wantAll: []string{"trailing ','"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := shorthand.Unmarshal(tt.in, tt.dst)
			if err == nil {
				t.Fatalf("Unmarshal(%q) = %+v, want error", tt.in, tt.dst)
			}
			var se *shorthand.Error
			if !errors.As(err, &se) {
				t.Fatalf("Unmarshal(%q) error %T is not *shorthand.Error: %v", tt.in, err, err)
			}
			msg := err.Error()
			if tt.wantMsg != "" && msg != tt.wantMsg {
				t.Errorf("error message\n got: %s\nwant: %s", msg, tt.wantMsg)
			}
			for _, want := range tt.wantAll {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not contain %q:\n%s", want, msg)
				}
			}
			if se.Key != tt.wantKey {
				t.Errorf("Key = %q, want %q", se.Key, tt.wantKey)
			}
			if tt.wantValue != "" && se.Value != tt.wantValue {
				t.Errorf("Value = %q, want %q", se.Value, tt.wantValue)
			}
		})
	}
}

func TestUnmarshalErrorWithFlagPrefix(t *testing.T) {
	err := shorthand.Unmarshal("InstanceGroupType=CORE,InstanceCount=two", &InstanceGroup{})
	var se *shorthand.Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *shorthand.Error", err)
	}
	se.Key = se.Path("--instance-groups[1]")
	want := `--instance-groups[1].InstanceCount: "two" is not an integer`
	if got := se.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUnmarshalBadTarget(t *testing.T) {
	tests := []struct {
		name string
		dst  any
	}{
		{"nil", nil},
		{"non-pointer", InstanceGroup{}},
		{"nil pointer", (*InstanceGroup)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := shorthand.Unmarshal("Name=x", tt.dst); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
				t.Errorf("Unmarshal into %T: got %v, want a non-nil pointer error", tt.dst, err)
			}
		})
	}
}
