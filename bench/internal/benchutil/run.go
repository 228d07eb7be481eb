package benchutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func pythonPyspark() (string, error) {
	out, err := exec.Command("python3", "-c", "import pyspark,os;print(os.path.dirname(pyspark.__file__))").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// TempRoot makes the benchmark's temporary directory, symlinks resolved:
// a symlinked path would make the /proc scan miss processes started under
// the resolved one.
func TempRoot(pattern string) (string, error) {
	root, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	return root, nil
}

// SignalContext returns a context cancelled by the first SIGINT, SIGTERM or
// SIGHUP, which starts the clean-up; later signals are reported but do not
// cut it short. Call stop when done.
func SignalContext(name string) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		first := true
		for s := range sigs {
			if first {
				fmt.Fprintf(os.Stderr, "\n%s: %v: stopping, cleaning up...\n", name, s)
				cancel()
				first = false
			} else {
				fmt.Fprintf(os.Stderr, "%s: %v: still cleaning up, please wait\n", name, s)
			}
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}
