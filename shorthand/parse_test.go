package shorthand_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth/shorthand"
)

type L = []any
type M = map[string]any

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want M
	}{
		{
			name: "instance group",
			in:   "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge",
			want: M{"InstanceGroupType": "MASTER", "InstanceCount": "1", "InstanceType": "m5.xlarge"},
		},
		{
			name: "spark step",
			in:   `Type=SPARK,Name="My app",ActionOnFailure=CONTINUE,Args=[--deploy-mode,cluster,s3://b/wordcount.py,s3://b/in.txt]`,
			want: M{"Type": "SPARK", "Name": "My app", "ActionOnFailure": "CONTINUE",
				"Args": L{"--deploy-mode", "cluster", "s3://b/wordcount.py", "s3://b/in.txt"}},
		},
		{
			name: "custom jar step with = inside list item",
			in:   "Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-submit,--conf,spark.x=y,app.py]",
			want: M{"Type": "CUSTOM_JAR", "Jar": "command-runner.jar",
				"Args": L{"spark-submit", "--conf", "spark.x=y", "app.py"}},
		},
		{
			name: "bootstrap action",
			in:   "Path=s3://b/boot.sh,Name=Install,Args=[a,b]",
			want: M{"Path": "s3://b/boot.sh", "Name": "Install", "Args": L{"a", "b"}},
		},
		{
			name: "application",
			in:   "Name=Spark",
			want: M{"Name": "Spark"},
		},
		{
			name: "unquoted value with spaces (shell already removed the quotes)",
			in:   "Name=My app,Type=SPARK",
			want: M{"Name": "My app", "Type": "SPARK"},
		},
		{
			name: "double-quoted value with commas and spaces",
			in:   `Name="a, b  c",Jar=x.jar`,
			want: M{"Name": "a, b  c", "Jar": "x.jar"},
		},
		{
			name: "single-quoted value with commas, = and brackets",
			in:   `Name='k=v,[x],{y}',Jar=x.jar`,
			want: M{"Name": "k=v,[x],{y}", "Jar": "x.jar"},
		},
		{
			name: "quoted list items",
			in:   `Args=["a b",'c,d',e]`,
			want: M{"Args": L{"a b", "c,d", "e"}},
		},
		{
			name: "escaped double quote and backslash",
			in:   `Name="say \"hi\" \\o/"`,
			want: M{"Name": `say "hi" \o/`},
		},
		{
			name: "escaped single quote",
			in:   `Name='it\'s'`,
			want: M{"Name": "it's"},
		},
		{
			name: "other backslashes in quotes are literal",
			in:   `Name="a\nb\'c"`,
			want: M{"Name": `a\nb\'c`},
		},
		{
			name: "escaped comma in bare value",
			in:   `Name=a\,b,Type=x`,
			want: M{"Name": "a,b", "Type": "x"},
		},
		{
			name: "backslash in bare value is literal",
			in:   `Path=C:\tmp\boot.sh`,
			want: M{"Path": `C:\tmp\boot.sh`},
		},
		{
			name: "quote with trailing backslash backtracks like the aws CLI",
			in:   `Name='a\'`,
			want: M{"Name": `a\`},
		},
		{
			name: "nested struct",
			in:   "InstanceGroupType=CORE,EbsConfiguration={EbsOptimized=true,EbsBlockDeviceConfigs=[{VolumeSpecification={VolumeType=gp2,SizeInGB=100},VolumesPerInstance=2}]}",
			want: M{"InstanceGroupType": "CORE", "EbsConfiguration": M{
				"EbsOptimized": "true",
				"EbsBlockDeviceConfigs": L{M{
					"VolumeSpecification": M{"VolumeType": "gp2", "SizeInGB": "100"},
					"VolumesPerInstance":  "2",
				}},
			}},
		},
		{
			name: "configuration with dotted keys",
			in:   "Classification=spark-defaults,Properties={spark.executor.memory=2g,spark.driver.memory=1g}",
			want: M{"Classification": "spark-defaults",
				"Properties": M{"spark.executor.memory": "2g", "spark.driver.memory": "1g"}},
		},
		{
			name: "empty structure",
			in:   "Properties={}",
			want: M{"Properties": M{}},
		},
		{
			name: "implicit list",
			in:   "Args=a,b,c",
			want: M{"Args": L{"a", "b", "c"}},
		},
		{
			name: "implicit list followed by another key",
			in:   "Args=a,b,Name=x",
			want: M{"Args": L{"a", "b"}, "Name": "x"},
		},
		{
			name: "implicit list item with = is taken as the next key (aws quirk)",
			in:   "Args=--conf,spark.x=y",
			want: M{"Args": "--conf", "spark.x": "y"},
		},
		{
			name: "implicit list with spaces and quoted items",
			in:   `Args=a, "b,c" , d`,
			want: M{"Args": L{"a", "b,c", "d"}},
		},
		{
			name: "empty list",
			in:   "Args=[]",
			want: M{"Args": L{}},
		},
		{
			name: "empty list with spaces",
			in:   "Args=[ ]",
			want: M{"Args": L{}},
		},
		{
			name: "= inside list items",
			in:   "Args=[--conf,spark.executor.memory=2g]",
			want: M{"Args": L{"--conf", "spark.executor.memory=2g"}},
		},
		{
			name: "trailing comma inside list is accepted (aws quirk)",
			in:   "Args=[a,b,]",
			want: M{"Args": L{"a", "b"}},
		},
		{
			name: "empty list item",
			in:   "Args=[a,,b]",
			want: M{"Args": L{"a", "", "b"}},
		},
		{
			name: "nested lists",
			in:   "A=[[a,b],[c],[]]",
			want: M{"A": L{L{"a", "b"}, L{"c"}, L{}}},
		},
		{
			name: "empty values",
			in:   "Name=,Type=x,Jar=",
			want: M{"Name": "", "Type": "x", "Jar": ""},
		},
		{
			name: "whitespace around = and , and the whole input",
			in:   "  Name = My app , Type=x , Args=[ a , b ]  ",
			want: M{"Name": "My app", "Type": "x", "Args": L{"a", "b"}},
		},
		{
			name: "key characters - _ . # / :",
			in:   "a-b_c.d#e/f:g=1",
			want: M{"a-b_c.d#e/f:g": "1"},
		},
		{
			name: "unicode value",
			in:   "Name=données été",
			want: M{"Name": "données été"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shorthand.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got: %#v\nwant: %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		key     string
		pos     int
		wantAll []string
	}{
		{
			name:    "missing =",
			in:      "InstanceGroupType MASTER,InstanceCount=1",
			pos:     19,
			wantAll: []string{`missing '=' after key "InstanceGroupType"`, "column 19", "expected '='", "received 'M'", "Key=Value"},
		},
		{
			name:    "missing = at end of input",
			in:      "Name",
			pos:     5,
			wantAll: []string{`missing '=' after key "Name"`, "received end of input"},
		},
		{
			name:    "unclosed [",
			in:      "Type=SPARK,Args=[a,b",
			key:     "Args",
			pos:     21,
			wantAll: []string{"unclosed '['", "expected ',' or ']'", "received end of input", "add the closing ']'", "opened at column 17"},
		},
		{
			name:    "unclosed [ with trailing comma",
			in:      "Args=[a,",
			key:     "Args",
			wantAll: []string{"unclosed '['", "received end of input"},
		},
		{
			name:    "unclosed {",
			in:      "Properties={a=b",
			key:     "Properties",
			wantAll: []string{"unclosed '{'", "add the closing '}'"},
		},
		{
			name:    "trailing comma",
			in:      "Name=x,",
			pos:     7,
			wantAll: []string{"trailing ','", "remove the trailing ','"},
		},
		{
			name:    "trailing comma after list",
			in:      "Args=[a],",
			pos:     9,
			wantAll: []string{"trailing ','", "remove the trailing ','"},
		},
		{
			name:    "duplicate key",
			in:      "InstanceGroupType=MASTER,InstanceCount=1,InstanceGroupType=CORE",
			pos:     42,
			wantAll: []string{`duplicate key "InstanceGroupType"`, "separate them with spaces"},
		},
		{
			name:    "unterminated quote",
			in:      `Name="My app,Type=x`,
			key:     "Name",
			pos:     6,
			wantAll: []string{"unterminated quoted value starting at column 6", `expected a closing '"'`, "add the closing quote"},
		},
		{
			name:    "quote in the middle of a value",
			in:      `Name=My "app"`,
			key:     "Name",
			wantAll: []string{"received '\"'", "quote the whole value"},
		},
		{
			name:    "garbage after list",
			in:      "Args=[a]b",
			key:     "Args",
			wantAll: []string{"expected ',' or end of input", "received 'b'"},
		},
		{
			name:    "list item starting with =",
			in:      "Args=[=x]",
			key:     "Args",
			wantAll: []string{"expected ',' or ']'", "received '='"},
		},
		{
			name:    "missing key",
			in:      "=x",
			wantAll: []string{"expected a key", "key is missing"},
		},
		{
			name:    "looks like JSON",
			in:      ` {"Name": "x"}`,
			wantAll: []string{"expected Key=Value", "read as JSON"},
		},
		{
			name:    "empty input",
			in:      "   ",
			wantAll: []string{"empty value", "Key=Value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shorthand.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want error", tt.in, got)
			}
			var se *shorthand.Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not *shorthand.Error", tt.in, err)
			}
			msg := err.Error()
			for _, want := range tt.wantAll {
				if !strings.Contains(msg, want) {
					t.Errorf("error for %q does not contain %q:\n%s", tt.in, want, msg)
				}
			}
			if se.Key != tt.key {
				t.Errorf("Key = %q, want %q", se.Key, tt.key)
			}
			if tt.pos != 0 && se.Pos != tt.pos {
				t.Errorf("Pos = %d, want %d\n%s", se.Pos, tt.pos, msg)
			}
			if se.Pos > 0 && (se.Value != tt.in || !strings.Contains(msg, tt.in)) {
				t.Errorf("syntax error should carry and show the input %q:\n%s", tt.in, msg)
			}
		})
	}
}

func TestSyntaxErrorCaret(t *testing.T) {
	_, err := shorthand.Parse("Type=SPARK,Args=[a,b")
	want := "Args: unclosed '[' at column 21: expected ',' or ']', received end of input; " +
		"add the closing ']' for the list opened at column 17\n" +
		"  Type=SPARK,Args=[a,b\n" +
		"                      ^"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}

	// Only the line containing the error is shown for multi-line input.
	_, err = shorthand.Parse("Name=x,\nType y=1")
	want = "missing '=' after key \"Type\" at line 2, column 6: expected '=', received 'y'; " +
		"write each item as Key=Value\n" +
		"  Type y=1\n" +
		"       ^"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestLooksLikeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"Name":"x"}`, true},
		{`  [{"Name":"x"}]`, true},
		{"\n\t{", true},
		{"Name=x", false},
		{"Args=[a]", false},
		{"", false},
		{"   ", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := shorthand.LooksLikeJSON(tt.in); got != tt.want {
				t.Errorf("LooksLikeJSON(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestErrorPath(t *testing.T) {
	tests := []struct {
		key, prefix, want string
	}{
		{"InstanceCount", "--instance-groups[1]", "--instance-groups[1].InstanceCount"},
		{"", "--instance-groups[1]", "--instance-groups[1]"},
		{"[2]", "--steps[0].Args", "--steps[0].Args[2]"},
		{"Args[2]", "", "Args[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			e := &shorthand.Error{Key: tt.key}
			if got := e.Path(tt.prefix); got != tt.want {
				t.Errorf("Path(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}
