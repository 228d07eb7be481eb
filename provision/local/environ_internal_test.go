package local

import (
	"fmt"
	"testing"
)

// TestAgentEnviron: agents (and so steps) do not inherit the control
// plane's database URL or password; the rest of the environment stays.
func TestAgentEnviron(t *testing.T) {
	in := []string{"PATH=/bin", "HEARTH_DATABASE=postgres://u:pw@db/h", "PGPASSWORD=pw", "PGHOST=db", "HEARTH_HOME=/h"}
	got := agentEnviron(in)
	if fmt.Sprint(got) != "[PATH=/bin PGHOST=db HEARTH_HOME=/h]" {
		t.Errorf("agentEnviron = %v", got)
	}
	if len(in) != 5 {
		t.Error("agentEnviron changed its input")
	}
}
