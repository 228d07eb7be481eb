package shorthand_test

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/shorthand"
)

// shorthandSeeds are arguments as users write them, plus the odd corners of
// the grammar (quotes, escapes, implicit lists, nesting, unbalanced input).
var shorthandSeeds = []string{
	"InstanceGroupType=MASTER,InstanceCount=1,InstanceType=m5.xlarge",
	`Type=SPARK,Name="My app",ActionOnFailure=CONTINUE,Args=[--deploy-mode,cluster,s3://b/wordcount.py,s3://b/in.txt]`,
	"Type=CUSTOM_JAR,Jar=command-runner.jar,Args=[spark-submit,--conf,spark.x=y,app.py]",
	"Path=s3://b/boot.sh,Name=Install,Args=[a,b]",
	"Name=Hive,Args=a,b,c",
	"Args=a,b,Name=x",
	`Name='k=v,[x],{y}',Jar=x.jar`,
	`Args=["a b",'c,d',e]`,
	`Name="say \"hi\" \\o/"`,
	`Name='it\'s'`,
	`Name='a\'`,
	`Name=C:\tmp\,x`,
	"Classification=spark-env,Configurations=[{Classification=export,Properties={PYSPARK_PYTHON=/usr/bin/python3}}]",
	"EbsConfiguration={EbsOptimized=TRUE,EbsBlockDeviceConfigs=[{VolumeSpecification={VolumeType=gp3,SizeInGB=100},VolumesPerInstance=2}]}",
	"Id=x,Count= 42 ,Big=-9000000000,Small=255,Ratio=0.25,Enabled=False,Tags={env=prod,team=data},Ports=[80,443],Raw=[a,{b=c}]",
	"Key=,Args=[],M={},N={k=}",
	"Args=[a,],M={k=v,}",
	"  Name=x  ",
	"",
	" \t\n",
	"Name=x,",
	"Name=x,Name=y",
	"M={k=1,k=2}",
	"=v",
	`"Name"=x`,
	"Args=[a,b",
	"M={k=v",
	`Name="unterminated`,
	"Name=a]",
	"[a,b]",
	`{"Name":"x"}`,
	"Name=a\nb=c,\nd=\"e",
	"Name=é,Args=[ü,\u00a0x]",
	"Name=\xff\xfe",
	`Name="a\"b",Args=[x,'y,z',{k=v}]`,
	"Args=a,b,c=d",
	"A={b=[c,{d=e}],f=}",
	"a=b,\n c ",
	"Args=[",
	"x",
}

// FuzzParse checks that Parse never panics, that every error is an *Error
// that locates the problem (a key path present in the input, or a position
// within it), and that a parsed value formatted back as shorthand parses
// to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range shorthandSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer hangGuard(t, s)()
		m, err := shorthand.Parse(s)
		if err != nil {
			checkError(t, s, err)
			return
		}
		if len(m) == 0 {
			t.Fatalf("Parse(%q) = empty map, no error", s)
		}
		if shorthand.LooksLikeJSON(s) {
			t.Fatalf("Parse(%q) succeeded on input that LooksLikeJSON", s)
		}
		checkValue(t, s, "", m)
		formatted := format(m)
		again, err := shorthand.Parse(formatted)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v, formatted as %q, which does not parse: %v", s, m, formatted, err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip changed the value:\ninput     %q\nparsed    %#v\nformatted %q\nreparsed  %#v", s, m, formatted, again)
		}
	})
}

// FuzzUnmarshal decodes into the struct shapes the CLI uses and one with
// every supported kind. Errors must locate the problem as in FuzzParse;
// decoding into map[string]any must give exactly what Parse gives.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range shorthandSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer hangGuard(t, s)()
		parsed, parseErr := shorthand.Parse(s)

		var raw map[string]any
		err := shorthand.Unmarshal(s, &raw)
		if (err == nil) != (parseErr == nil) {
			t.Fatalf("Unmarshal into map[string]any: err = %v, Parse: err = %v", err, parseErr)
		}
		if err == nil && !reflect.DeepEqual(raw, parsed) {
			t.Fatalf("Unmarshal into map[string]any = %#v, Parse = %#v", raw, parsed)
		}

		for _, dst := range []any{
			&Kitchen{}, &InstanceGroup{}, &Configuration{},
			&hearth.InstanceGroupConfig{}, &hearth.Application{}, &hearth.Configuration{},
			&map[string]int{},
		} {
			err := shorthand.Unmarshal(s, dst)
			if err == nil {
				if parseErr != nil {
					t.Fatalf("Unmarshal(%q, %T) succeeded, Parse failed: %v", s, dst, parseErr)
				}
				continue
			}
			checkError(t, s, err)
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

// hangLimit is far above what any input takes (microseconds).
const hangLimit = 5 * time.Second

// checkError asserts that err, returned for input s, is an *Error with a
// message that names where the problem is: a key path whose first key is
// in s, a position in s, or (for an unknown top-level key) the key itself.
// Only an input with no key at all may have none of these.
func checkError(t *testing.T, s string, err error) {
	t.Helper()
	var se *shorthand.Error
	if !errors.As(err, &se) {
		t.Fatalf("input %q: error %T (%v), want *shorthand.Error", s, err, err)
	}
	if se.Msg == "" || err.Error() == "" {
		t.Fatalf("input %q: empty error message: %#v", s, se)
	}
	if se.Pos != 0 {
		if se.Pos < 1 || se.Pos > len(s)+1 {
			t.Fatalf("input %q (%d bytes): error position %d out of range: %v", s, len(s), se.Pos, err)
		}
		if se.Value != s {
			t.Fatalf("input %q: syntax error carries Value %q, want the input", s, se.Value)
		}
		if !strings.Contains(err.Error(), "^") {
			t.Fatalf("input %q: syntax error without a caret: %v", s, err)
		}
	}
	if se.Key != "" {
		if !firstKeyIn(s, se.Key) {
			t.Fatalf("input %q: error names key path %q, whose first key is not in the input: %v", s, se.Key, err)
		}
		if !strings.HasPrefix(err.Error(), se.Key+": ") {
			t.Fatalf("input %q: error %q does not start with its key %q", s, err, se.Key)
		}
	}
	switch {
	case se.Key != "", se.Pos > 0:
	case se.Value != "" && strings.Contains(se.Msg, strconv.Quote(se.Value)) && strings.Contains(s, se.Value):
	case strings.TrimFunc(s, unicode.IsSpace) == "":
	default:
		t.Fatalf("input %q: error names no key, position or value: %#v", s, se)
	}
}

// firstKeyIn reports whether the first key of path ("k", "k[0]",
// "k.sub[1].x") occurs in s. Keys may contain '.', so any prefix of path
// that ends before a '.' may be that first key.
func firstKeyIn(s, path string) bool {
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	for i := range len(path) + 1 {
		if (i == len(path) || path[i] == '.') && i > 0 && strings.Contains(s, path[:i]) {
			return true
		}
	}
	return false
}

// checkValue asserts that v holds only the types Parse documents, and that
// every key is made of key characters.
func checkValue(t *testing.T, s, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case string:
	case []any:
		for i, it := range v {
			checkValue(t, s, path+"["+strconv.Itoa(i)+"]", it)
		}
	case map[string]any:
		for k, it := range v {
			if k == "" || strings.TrimLeft(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.#/:") != "" {
				t.Fatalf("input %q: key %q at %q is not made of key characters", s, k, path)
			}
			checkValue(t, s, path+"."+k, it)
		}
	default:
		t.Fatalf("input %q: value at %q has type %T", s, path, v)
	}
}

// format writes a parsed value back as shorthand, quoting every string.
func format(m map[string]any) string {
	var b strings.Builder
	formatPairs(&b, m)
	return b.String()
}

func formatPairs(b *strings.Builder, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		formatValue(b, m[k])
	}
}

func formatValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v))
		b.WriteByte('"')
	case []any:
		b.WriteByte('[')
		for i, it := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			formatValue(b, it)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		formatPairs(b, v)
		b.WriteByte('}')
	}
}
