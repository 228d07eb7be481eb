package hearth

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Host is a machine in the ssh provisioner's inventory (`hearth hosts
// add`): somewhere the control plane can SSH into to start node agents.
// Nothing needs to be installed on it but Java and sshd.
type Host struct {
	Id   string `json:"Id"`   // "h-" and 13 upper-case alphanumerics
	Name string `json:"Name"` // unique; the address when not given
	// Address is where SSH reaches the host, and where Spark on it binds
	// and is reached by peers.
	Address string `json:"Address"`
	Port    int    `json:"Port"` // SSH port
	User    string `json:"User"`
	// KeyFile is a private key on the control plane's machine; "" means
	// the ssh-agent at $SSH_AUTH_SOCK.
	KeyFile string `json:"KeyFile,omitempty"`
	// WorkDir holds, on the host, the agent binary, runtimes and node
	// directories. Relative paths are under the SSH user's home.
	WorkDir string            `json:"WorkDir"`
	Labels  map[string]string `json:"Labels,omitempty"`
	// HostKey is the host's SSH public key (authorized_keys format), pinned
	// when the host was added; a host presenting another key is refused.
	HostKey            string `json:"HostKey"`
	HostKeyFingerprint string `json:"HostKeyFingerprint"`
	// MaxNodes is how many nodes, of any clusters, the host carries at once.
	MaxNodes int `json:"MaxNodes"`
	// Facts are what the host reported over SSH when it was last checked.
	Facts            HostFacts `json:"Facts"`
	CreationDateTime time.Time `json:"CreationDateTime"`
}

// HostFacts is what a host has, discovered over SSH.
type HostFacts struct {
	OS       string `json:"OS"`   // as Go names it: "linux"
	Arch     string `json:"Arch"` // as Go names it: "amd64", "arm64"
	CPUs     int    `json:"CPUs"`
	MemoryMB int    `json:"MemoryMB"`
	// Java is the version of the newest Java found, "" when none was.
	Java      string    `json:"Java,omitempty"`
	CheckedAt time.Time `json:"CheckedAt"`
}

// DefaultHostWorkDir is a host's work directory when none is given.
const DefaultHostWorkDir = ".hearth"

// NewHostID returns a host id: "h-" and 13 upper-case alphanumerics.
func NewHostID() string { return "h-" + randomUpper(13) }

var (
	hostNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	sshUserPattern  = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)
	labelKeyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)
)

// Validate checks h's user-given members and fills defaults: the name, the
// SSH port (22) and user (root is not assumed: the caller gives one), the
// work directory and MaxNodes (1). Errors name the field, the value and
// the fix.
func (h *Host) Validate() error {
	if h.Address == "" {
		return Invalid("address", "", "give the host's IP address or DNS name")
	}
	if strings.ContainsAny(h.Address, " /@:[]\x00") && net.ParseIP(h.Address) == nil {
		return Invalid("address", h.Address, "an IP address or a DNS name, without user, port or path (use --user and --port)")
	}
	if h.Name == "" {
		h.Name = h.Address // an IPv6 address too, which the pattern refuses
	} else if !hostNamePattern.MatchString(h.Name) {
		return Invalid("name", h.Name, "letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit")
	}
	if h.Port == 0 {
		h.Port = 22
	}
	if h.Port < 1 || h.Port > 65535 {
		return Invalid("port", strconv.Itoa(h.Port), "an SSH port between 1 and 65535")
	}
	if !sshUserPattern.MatchString(h.User) {
		return Invalid("user", h.User, "the SSH user's login name (lower-case letters, digits, '_', '-', '.')")
	}
	if h.WorkDir == "" {
		h.WorkDir = DefaultHostWorkDir
	}
	if strings.ContainsAny(h.WorkDir, "\x00\n'\"$`\\") || path.Clean(h.WorkDir) != strings.TrimSuffix(h.WorkDir, "/") || strings.Contains(h.WorkDir, "..") {
		return Invalid("work-dir", h.WorkDir, "a clean path on the host without quotes, '$', '..' or backslashes, absolute or relative to the SSH user's home")
	}
	if h.MaxNodes == 0 {
		h.MaxNodes = 1
	}
	if h.MaxNodes < 1 || h.MaxNodes > 64 {
		return Invalid("max-nodes", strconv.Itoa(h.MaxNodes), "between 1 and 64 nodes per host")
	}
	for k, v := range h.Labels {
		if !labelKeyPattern.MatchString(k) || len(v) > 256 || strings.ContainsAny(v, "\x00\n") {
			return Invalid("labels", k+"="+v, "keys of letters, digits, '.', '_', '/', '-' (at most 63); values of one line, at most 256 bytes")
		}
	}
	return nil
}

// SSHAddr is host:port for dialing h's sshd.
func (h *Host) SSHAddr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// String names h for messages.
func (h *Host) String() string {
	if h.Name == h.Address {
		return fmt.Sprintf("host %s", h.Name)
	}
	return fmt.Sprintf("host %s (%s)", h.Name, h.Address)
}
