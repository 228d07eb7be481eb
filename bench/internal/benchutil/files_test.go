package benchutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSlogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	log := `time=2026-11-23T02:59:22.949Z level=INFO msg="starting step" node=i-9 step=s-AB name="Custom \"JAR\""
time=2026-11-23T02:59:23.000000001Z level=INFO msg=started daemon=worker
not a slog line
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	got := SlogLines(path)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(got), got)
	}
	if want := time.Date(2026, 11, 23, 2, 59, 22, 949e6, time.UTC); !got[0].At.Equal(want) {
		t.Errorf("time %v, want %v", got[0].At, want)
	}
	if got[0].Msg != "starting step" || got[0].Attrs["step"] != "s-AB" || got[0].Attrs["name"] != `Custom "JAR"` {
		t.Errorf("line 1: %q %q", got[0].Msg, got[0].Attrs)
	}
	if got[1].Msg != "started" || got[1].Attrs["daemon"] != "worker" || got[1].At.Nanosecond() != 1 {
		t.Errorf("line 2: %v %q %q", got[1].At, got[1].Msg, got[1].Attrs)
	}
}
