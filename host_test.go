package hearth_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/hearthcluster/hearth"
)

func TestHostValidateFillsDefaults(t *testing.T) {
	h := &hearth.Host{Address: "10.0.0.5", User: "spark"}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := hearth.Host{Address: "10.0.0.5", User: "spark", Name: "10.0.0.5", Port: 22, WorkDir: ".hearth", MaxNodes: 1}
	if h.Name != want.Name || h.Port != want.Port || h.WorkDir != want.WorkDir || h.MaxNodes != want.MaxNodes {
		t.Errorf("after Validate: Name %q Port %d WorkDir %q MaxNodes %d; want %q %d %q %d",
			h.Name, h.Port, h.WorkDir, h.MaxNodes, want.Name, want.Port, want.WorkDir, want.MaxNodes)
	}
}

func TestHostValidateKeepsGivenValues(t *testing.T) {
	h := &hearth.Host{Name: "worker-1", Address: "db.example.com", Port: 2222, User: "hearth_svc",
		WorkDir: "/srv/hearth", MaxNodes: 4, Labels: map[string]string{"zone/a": "eu-1"}}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if h.Name != "worker-1" || h.Port != 2222 || h.WorkDir != "/srv/hearth" || h.MaxNodes != 4 {
		t.Errorf("Validate changed given values: %+v", h)
	}
}

func TestHostValidateRefuses(t *testing.T) {
	valid := func() hearth.Host { return hearth.Host{Address: "10.0.0.5", User: "spark"} }
	tests := []struct {
		name  string
		edit  func(*hearth.Host)
		field string
	}{
		{"empty address", func(h *hearth.Host) { h.Address = "" }, "address"},
		{"user in address", func(h *hearth.Host) { h.Address = "user@host" }, "address"},
		{"port in address", func(h *hearth.Host) { h.Address = "host:22" }, "address"},
		{"path in address", func(h *hearth.Host) { h.Address = "host/x" }, "address"},
		{"bad name", func(h *hearth.Host) { h.Name = "-no good" }, "name"},
		{"port 70000", func(h *hearth.Host) { h.Port = 70000 }, "port"},
		{"negative port", func(h *hearth.Host) { h.Port = -1 }, "port"},
		{"empty user", func(h *hearth.Host) { h.User = "" }, "user"},
		{"upper-case user", func(h *hearth.Host) { h.User = "Root" }, "user"},
		{"user with space", func(h *hearth.Host) { h.User = "a b" }, "user"},
		{"work-dir with ..", func(h *hearth.Host) { h.WorkDir = "../elsewhere" }, "work-dir"},
		{"work-dir with inner ..", func(h *hearth.Host) { h.WorkDir = "/srv/../etc" }, "work-dir"},
		{"work-dir with single quote", func(h *hearth.Host) { h.WorkDir = "it's" }, "work-dir"},
		{"work-dir with double quote", func(h *hearth.Host) { h.WorkDir = `a"b` }, "work-dir"},
		{"work-dir with $HOME", func(h *hearth.Host) { h.WorkDir = "$HOME/hearth" }, "work-dir"},
		{"work-dir with NUL", func(h *hearth.Host) { h.WorkDir = "a\x00b" }, "work-dir"},
		{"work-dir not clean", func(h *hearth.Host) { h.WorkDir = "a//b" }, "work-dir"},
		{"65 max-nodes", func(h *hearth.Host) { h.MaxNodes = 65 }, "max-nodes"},
		{"negative max-nodes", func(h *hearth.Host) { h.MaxNodes = -1 }, "max-nodes"},
		{"label key with space", func(h *hearth.Host) { h.Labels = map[string]string{"bad key": "v"} }, "labels"},
		{"label value with newline", func(h *hearth.Host) { h.Labels = map[string]string{"k": "a\nb"} }, "labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := valid()
			tt.edit(&h)
			err := h.Validate()
			if err == nil {
				t.Fatalf("Validate accepted %+v, want an error naming %s", h, tt.field)
			}
			if !errors.Is(err, hearth.ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			var ve *hearth.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("error %q (%T): want a *ValidationError for field %q", err, err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestHostValidateMaxNodesZeroMeansOne(t *testing.T) {
	h := &hearth.Host{Address: "10.0.0.5", User: "spark", MaxNodes: 0}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if h.MaxNodes != 1 {
		t.Errorf("MaxNodes = %d, want 1", h.MaxNodes)
	}
	h.MaxNodes = 64
	if err := h.Validate(); err != nil {
		t.Errorf("MaxNodes 64 refused: %v", err)
	}
}

func TestHostValidateAcceptsIPv6WithName(t *testing.T) {
	h := &hearth.Host{Name: "loopback6", Address: "::1", User: "spark"}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate refused an IPv6 address: %v", err)
	}
}

// An IPv6 address given without --name is its own name, like any other.
func TestHostValidateIPv6WithoutName(t *testing.T) {
	h := &hearth.Host{Address: "::1", User: "spark"}
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate refused an IPv6 address without a name: %v", err)
	}
}

func TestNewHostIDShape(t *testing.T) {
	shape := regexp.MustCompile(`^h-[A-Z0-9]{13}$`)
	a, b := hearth.NewHostID(), hearth.NewHostID()
	for _, id := range []string{a, b} {
		if !shape.MatchString(id) {
			t.Errorf("NewHostID() = %q, want %s", id, shape)
		}
	}
	if a == b {
		t.Errorf("two NewHostID calls both returned %q", a)
	}
}

func TestHostSSHAddr(t *testing.T) {
	tests := []struct {
		addr string
		port int
		want string
	}{
		{"::1", 22, "[::1]:22"},
		{"10.0.0.5", 2222, "10.0.0.5:2222"},
		{"db.example.com", 22, "db.example.com:22"},
	}
	for _, tt := range tests {
		h := &hearth.Host{Address: tt.addr, Port: tt.port}
		if got := h.SSHAddr(); got != tt.want {
			t.Errorf("SSHAddr(%s, %d) = %q, want %q", tt.addr, tt.port, got, tt.want)
		}
	}
}
