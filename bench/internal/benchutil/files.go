package benchutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// CountInFile counts the occurrences of s in the file at path.
func CountInFile(path, s string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(s))
}

// TailFile returns up to the last n bytes of the file at path.
func TailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// SlogLine is one line of a log written by slog's text handler (the
// server's and the agents' logs): its time and its key=value attributes.
type SlogLine struct {
	At    time.Time
	Msg   string
	Attrs map[string]string // every key=value but time and msg, values unquoted
}

// SlogLines parses the slog text lines of the log at path; lines without a
// time= attribute are skipped.
func SlogLines(path string) []SlogLine {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []SlogLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ev := SlogLine{Attrs: map[string]string{}}
		for _, kv := range slogFields(sc.Text()) {
			switch kv[0] {
			case "time":
				ev.At, _ = time.Parse(time.RFC3339Nano, kv[1])
			case "msg":
				ev.Msg = kv[1]
			default:
				ev.Attrs[kv[0]] = kv[1]
			}
		}
		if !ev.At.IsZero() {
			out = append(out, ev)
		}
	}
	return out
}

// slogFields splits a slog text line into key/value pairs; a quoted value
// (msg="starting step") is unquoted.
func slogFields(line string) [][2]string {
	var out [][2]string
	for {
		line = strings.TrimLeft(line, " ")
		k, rest, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.Contains(k, " ") {
			return out
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			q := rest[:min(end+1, len(rest))]
			if u, err := strconv.Unquote(q); err == nil {
				v = u
			} else {
				v = strings.Trim(q, `"`)
			}
			line = rest[len(q):]
		} else {
			v, line, _ = strings.Cut(rest, " ")
		}
		out = append(out, [2]string{k, v})
	}
}

// MasterJSON is the part of a Spark master's /json document benchmarks read.
type MasterJSON struct {
	Status       string            `json:"status"`
	AliveWorkers int               `json:"aliveworkers"`
	ActiveApps   []json.RawMessage `json:"activeapps"`
}

// FetchMaster reads a Spark master's /json document at url, sending
// authorization as the Authorization header unless it is "": a master
// started by hand answers directly, a Hearth cluster's only through the
// gateway (Hearth.FetchMaster). Errors never include authorization.
func FetchMaster(ctx context.Context, hc *http.Client, url, authorization string) (MasterJSON, error) {
	var j MasterJSON
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return j, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return j, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return j, fmt.Errorf("%s: %s", url, resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&j)
	return j, err
}

// WriteJSON writes v, indented, to path, creating its directory.
func WriteJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Save writes res to path (WriteJSON) and says so on stdout, and returns
// the run's exit status: 1 when it could not write res or the run has
// warnings, else 0.
func Save(name, path string, res any, warnings Warnings) int {
	if err := WriteJSON(path, res); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		return 1
	}
	fmt.Printf("\nwrote %s\n", path)
	if len(warnings) > 0 {
		return 1
	}
	return 0
}

// Warnings are a run's warnings, in the order they were given; a run that
// has any exits with status 1.
type Warnings []string

// Add formats a warning, keeps it and prints it on stderr.
func (w *Warnings) Add(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	*w = append(*w, s)
	fmt.Fprintln(os.Stderr, "WARNING:", s)
}

// Load1 is the host's 1-minute load average.
func Load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

// Round3 rounds x to 3 decimals.
func Round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// NewerSource returns a Go file of the module in the working directory
// (outside bench/) newer than t, or "".
func NewerSource(t time.Time) string {
	if _, err := os.Stat("go.mod"); err != nil {
		return ""
	}
	found := ""
	errStop := errors.New("stop")
	filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (p == "bench" || p == "bin" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(t) {
				found = p
				return errStop
			}
		}
		return nil
	})
	return found
}

// SparkHome returns dir, else the pip-installed pyspark's directory.
func SparkHome(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	out, err := pythonPyspark()
	if err != nil {
		return "", fmt.Errorf("no -spark-home, no $SPARK_HOME and no pip-installed pyspark")
	}
	return out, nil
}

// Machine is what a result records of the host it ran on.
type Machine struct {
	CPUs      int     `json:"cpus"`
	GOOS      string  `json:"goos"`
	Load1     float64 `json:"load1_at_start"`
	Load1End  float64 `json:"load1_at_end,omitempty"`
	Java      string  `json:"java"`
	SparkHome string  `json:"spark_home"`
}

// Binary is the hearth binary a benchmark drives.
type Binary struct {
	HearthBinary     string    `json:"hearth_binary"`
	HearthBinaryTime time.Time `json:"hearth_binary_mtime"`
}

// Header is what every result file starts with; Prepare fills Host and
// Binary.
type Header struct {
	Benchmark string    `json:"benchmark"`
	Started   time.Time `json:"started"`
	Host      Machine   `json:"host"`
	Binary
}

// Prepare checks the hearth binary (warning when a Go source is newer than
// it) and the Spark distribution (sparkHome, or the pip-installed pyspark),
// and describes the machine. Errors are for the user: what to build or set.
func Prepare(hearthBin, sparkHome string, warn func(format string, a ...any)) (Binary, Machine, error) {
	var b Binary
	var m Machine
	bin, err := filepath.Abs(hearthBin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return b, m, fmt.Errorf("hearth binary: %v (build it: go build -o bin/hearth ./cmd/hearth)", err)
	}
	b.HearthBinary = bin
	if fi, err := os.Stat(bin); err == nil {
		b.HearthBinaryTime = fi.ModTime().UTC()
		if newer := NewerSource(fi.ModTime()); newer != "" {
			warn("%s is older than %s: rebuild it (go build -o bin/hearth ./cmd/hearth)", hearthBin, newer)
		}
	}
	if m.SparkHome, err = SparkHome(sparkHome); err != nil {
		return b, m, err
	}
	m.CPUs, m.GOOS, m.Load1 = runtime.NumCPU(), runtime.GOOS, Load1()
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		m.Java = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return b, m, nil
}
