package benchutil_test

import (
	"errors"
	"os"
	"testing"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

func TestRuns(t *testing.T) {
	var names []string
	run := func(name string) (int, error) {
		names = append(names, name)
		return len(names), nil
	}
	got, err := benchutil.Runs("spark", 1, 2, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("results %v, want [2 3] (the warm-up's discarded)", got)
	}
	want := []string{"spark warm-up 1", "spark run 1", "spark run 2"}
	if len(names) != len(want) || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("names %q, want %q", names, want)
	}

	boom := errors.New("boom")
	calls := 0
	_, err = benchutil.Runs("x", 0, 3, func(string) (int, error) { calls++; return 0, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err %v after %d call(s), want boom after 1", err, calls)
	}
}

func TestTeardown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		panics   bool
		stopErr  error
		keep     bool
		wantCode int
		wantKept bool
	}{
		{name: "success", wantCode: 0},
		{name: "success, -keep", keep: true, wantCode: 0, wantKept: true},
		{name: "panic", panics: true, wantCode: 1, wantKept: true},
		{name: "stop fails", stopErr: errors.New("stuck"), wantCode: 1, wantKept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, err := benchutil.TempRoot("benchutil-teardown-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			stopped := 0
			code := func() (code int) {
				defer benchutil.Teardown("test", root, tc.keep, &code, func() error { stopped++; return tc.stopErr })
				if tc.panics {
					panic("boom")
				}
				return 0
			}()
			if code != tc.wantCode || stopped != 1 {
				t.Errorf("code %d after %d stop(s), want %d after 1", code, stopped, tc.wantCode)
			}
			if _, err := os.Stat(root); (err == nil) != tc.wantKept {
				t.Errorf("root kept: %v, want %v", err == nil, tc.wantKept)
			}
		})
	}
}
