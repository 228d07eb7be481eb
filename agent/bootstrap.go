package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"strings"
	"syscall"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/internal/proc"
)

// bootstrapState tracks the node's bootstrap actions: they run once, in
// order, in the background (heartbeats go on), before any daemon starts.
type bootstrapState struct {
	started bool
	done    bool
	results []hearth.BootstrapResult
	failed  string
}

// instanceJSON is where a node's instance.json lives; scripts also find it
// in $HEARTH_INSTANCE_JSON.
func (a *Agent) instanceJSON() string { return filepath.Join(a.cfg.Dir, "instance.json") }

// bootstrapped reports whether the node's bootstrap actions have all
// succeeded, starting them if they have not run. Called with a.mu held.
func (a *Agent) bootstrapped(p hearth.Plan) bool {
	b := &a.boot
	if b.done {
		return b.failed == ""
	}
	marker := filepath.Join(a.cfg.Dir, "bootstrap", "done")
	if _, err := os.Stat(marker); err == nil || len(p.BootstrapActions) == 0 {
		b.done = true // already ran before an agent restart, or nothing to run
		return true
	}
	if !b.started {
		b.started = true
		go a.runBootstrap(p, marker)
	}
	return false
}

func (a *Agent) runBootstrap(p hearth.Plan, marker string) {
	var results []hearth.BootstrapResult
	failed := ""
	for i, act := range p.BootstrapActions {
		var s3 *hearth.S3Access
		if p.Secrets != nil {
			s3 = p.Secrets.S3
		}
		r := a.runAction(i, act, s3)
		results = append(results, r)
		a.mu.Lock()
		a.boot.results = results
		a.mu.Unlock()
		if r.ExitCode != 0 {
			role := "core"
			if p.Instance.IsMaster {
				role = "master"
			}
			failed = fmt.Sprintf("On the %s instance (%s), bootstrap action %d (%s, %s) returned a non-zero return code %d; the end of its stderr:\n%s",
				role, a.cfg.NodeID, i+1, act.Name, act.ScriptBootstrapAction.Path, r.ExitCode, lastN(r.Stderr, 1024))
			break
		}
	}
	if failed == "" {
		os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
	}
	a.mu.Lock()
	a.boot.done, a.boot.failed = true, failed
	a.mu.Unlock()
	a.log.Info("bootstrap actions finished", "actions", len(results), "failed", failed != "")
	select {
	case a.again <- struct{}{}:
	default:
	}
}

// runAction fetches and runs one bootstrap action with its arguments, in
// its own directory and process group, with a 1-hour limit (EMR's).
func (a *Agent) runAction(i int, act hearth.BootstrapAction, s3 *hearth.S3Access) (res hearth.BootstrapResult) {
	dir := filepath.Join(a.cfg.Dir, "bootstrap", fmt.Sprintf("%02d-%s", i+1, safeName(act.Name)))
	res = hearth.BootstrapResult{Index: i + 1, Name: act.Name, Path: act.ScriptBootstrapAction.Path, ExitCode: -1}
	start := time.Now()
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Stderr = err.Error()
		return res
	}
	path := act.ScriptBootstrapAction.Path
	script, err := fetchTo(s3, path, filepath.Join(dir, "fetched"))
	if err != nil {
		res.Stderr = err.Error()
		return res
	}
	os.Chmod(script, 0o755)
	stdout, _ := os.Create(filepath.Join(dir, "stdout"))
	stderr, _ := os.Create(filepath.Join(dir, "stderr"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{script}, act.ScriptBootstrapAction.Args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), s3Env(s3)...), "HEARTH_INSTANCE_JSON="+a.instanceJSON(), "HEARTH_NODE_DIR="+a.cfg.Dir)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return proc.SignalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	stdout.Close()
	stderr.Close()
	res.ExitCode = exitCode(err)
	res.Stdout = tail(filepath.Join(dir, "stdout"), 8192)
	res.Stderr = tail(filepath.Join(dir, "stderr"), 8192)
	a.log.Info("bootstrap action", "index", i+1, "name", act.Name, "exit", res.ExitCode)
	return res
}

// writeInstanceJSON writes the node's instance.json.
func (a *Agent) writeInstanceJSON(info hearth.InstanceInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp := a.instanceJSON() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, a.instanceJSON())
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "action"
	}
	return b.String()
}

func lastN(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
