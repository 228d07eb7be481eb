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

// Teardown is what every exit path of a benchmark's run goes through:
// deferred, with the run's named result as code, once the temporary
// directory root exists. A panic becomes status 1; each of stops runs in
// order and a failure makes the status at least 1; then Sweep, and a
// process left behind makes it 3. root is removed when the run succeeded
// and keep is not set; otherwise it says where the logs are.
func Teardown(name, root string, keep bool, code *int, stops ...func() error) {
	if p := recover(); p != nil {
		fmt.Fprintln(os.Stderr, name+": panic:", p)
		*code = 1
	}
	for _, stop := range stops {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, name+": cleanup:", err)
			*code = max(*code, 1)
		}
	}
	if !Sweep(name, root) {
		*code = 3
		return
	}
	if *code == 0 && !keep {
		os.RemoveAll(root)
	} else {
		fmt.Fprintf(os.Stderr, "%s: logs kept in %s\n", name, root)
	}
}

// Fail reports on stderr that the run failed during what and returns its
// exit status: 130 when ctx is done (a signal interrupted the run, and err
// is only that), else 1.
func Fail(ctx context.Context, name, what string, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "%s: interrupted during %s\n", name, what)
		return 130
	}
	fmt.Fprintf(os.Stderr, "%s: %s: %v\n", name, what, err)
	return 1
}

// Runs calls run warmup times, discarding what it returns, then n times,
// and returns those n results in order. Each call is named for its
// messages "<what> warm-up <i>" or "<what> run <i>", counting from 1. It
// stops at the first error and returns it.
func Runs[T any](what string, warmup, n int, run func(name string) (T, error)) ([]T, error) {
	for i := range warmup {
		if _, err := run(fmt.Sprintf("%s warm-up %d", what, i+1)); err != nil {
			return nil, err
		}
	}
	var out []T
	for i := range n {
		r, err := run(fmt.Sprintf("%s run %d", what, i+1))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
