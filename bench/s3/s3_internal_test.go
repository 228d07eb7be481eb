package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseS3Env(t *testing.T) {
	out := "export AWS_ENDPOINT_URL_S3=http://127.0.0.1:8442\n" +
		"export AWS_ACCESS_KEY_ID=HKAEXAMPLE\n" +
		"export AWS_SECRET_ACCESS_KEY='a/b+c'\\''d'\n" +
		"export AWS_DEFAULT_REGION=us-east-1\n"
	got, err := parseS3Env([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := s3Access{Endpoint: "http://127.0.0.1:8442", AccessKeyID: "HKAEXAMPLE", SecretAccessKey: "a/b+c'd", Region: "us-east-1"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseS3Env([]byte("export AWS_DEFAULT_REGION=us-east-1\n")); err == nil {
		t.Error("no error for an incomplete env")
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{"http://127.0.0.1:8442", true},
		{"http://[::1]:8442", true},
		{"http://10.0.0.1:8442", false},
		{"http://localhost:8442", false}, // a name could resolve anywhere
		{"https://s3.amazonaws.com", false},
		{"", false},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			if err := loopbackOnly(tc.endpoint); (err == nil) != tc.ok {
				t.Errorf("loopbackOnly(%q) = %v, want ok %v", tc.endpoint, err, tc.ok)
			}
		})
	}
}

// TestCountWords checks countWords against wordcount.py's own tokenising
// (the same regular expression and strip, in Python), on a text with
// apostrophes, capitals and punctuation.
func TestCountWords(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	text := "Don't 'quoted' it's ''' Hello HELLO hello-world x'y'z.\nThe the THE, a b b c c c\n" +
		strings.Repeat("spark cluster worker. ", 7) + "''a'' 'b\n"
	path := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	top, _, err := countWords(path)
	if err != nil {
		t.Fatal(err)
	}
	py := `import json, re, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    for w in re.findall(r"[a-z']+", line.lower()):
        w = w.strip("'")
        if w:
            c[w] += 1
print(json.dumps(sorted(c.items(), key=lambda wc: (-wc[1], wc[0]))[:50]))
`
	out, err := exec.Command("python3", "-c", py, path).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := topJSON(top); got != strings.TrimSpace(string(out)) {
		t.Errorf("countWords: %s\npython:      %s", got, out)
	}
	if !sameTop(strings.TrimSpace(string(out)), top) {
		t.Error("sameTop refuses the Python output")
	}
	var pairs [][]any
	json.Unmarshal(out, &pairs)
	pairs[0][1] = 1 + pairs[0][1].(float64)
	wrong, _ := json.Marshal(pairs)
	if sameTop(string(wrong), top) {
		t.Error("sameTop accepts a wrong count")
	}
}

func TestLastJSONLine(t *testing.T) {
	got, ok := lastJSONLine("hello\n[[\"a\", 1]]\n[not json\n")
	if !ok || got != `[["a", 1]]` {
		t.Errorf("got %q %v", got, ok)
	}
	if _, ok := lastJSONLine("nothing here\n"); ok {
		t.Error("found a JSON line in none")
	}
}
