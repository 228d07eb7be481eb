package spark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrJavaMissing means no Java runtime was found on this host.
var ErrJavaMissing = errors.New("java not found")

// Java is a Java runtime found on this host.
type Java struct {
	Path    string // the java executable that was run
	Home    string // its JAVA_HOME: JAVA_HOME if set, else the directory above bin/
	Major   int    // feature version: 8 for "1.8.0_392", 17 for "17.0.15"
	Version string // full version as java reports it, e.g. "17.0.15" or "1.8.0_392"
}

// javaVersionTimeout bounds `java -version` when ctx has no deadline; a JVM
// that cannot print its version in this long is unusable anyway.
const javaVersionTimeout = 30 * time.Second

// FindJava locates Java and reports its version. It uses $JAVA_HOME/bin/java
// if JAVA_HOME is set and that file exists, else `java` on PATH, and runs
// `java -version`. Outcomes: the Java found; an error wrapping
// ErrJavaMissing, whose message says how to install Java 17, when there is
// none; or an error naming the executable when it does not run or prints no
// version it can parse.
func FindJava(ctx context.Context) (Java, error) {
	path, home, err := lookJava()
	if err != nil {
		return Java{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, javaVersionTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path, "-version")
	var out bytes.Buffer
	cmd.Stdout = &out // some builds print the banner on stdout
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return Java{}, fmt.Errorf("run %s -version: %w (output: %s)", path, err, firstLine(out.String()))
	}
	version, major, err := ParseJavaVersion(out.String())
	if err != nil {
		return Java{}, fmt.Errorf("run %s -version: %w", path, err)
	}
	if home == "" {
		home = javaHomeOf(path)
	}
	return Java{Path: path, Home: home, Major: major, Version: version}, nil
}

// lookJava returns the java executable to run and, when it came from
// JAVA_HOME, that home.
func lookJava() (path, home string, err error) {
	jh := os.Getenv("JAVA_HOME")
	if jh != "" {
		p := filepath.Join(jh, "bin", "java")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, jh, nil
		}
	}
	p, err := exec.LookPath("java")
	if err == nil {
		return p, "", nil
	}
	where := `JAVA_HOME is not set and there is no "java" on PATH`
	if jh != "" {
		where = fmt.Sprintf(`JAVA_HOME=%s has no bin/java and there is no "java" on PATH`, jh)
	}
	return "", "", fmt.Errorf("%w (%s): Spark needs Java 17; install it with %s", ErrJavaMissing, where, installHint(17))
}

// installCommands says how to install a Java major version on common hosts.
func installCommands(major int) string {
	return fmt.Sprintf("`sudo apt-get install -y openjdk-%d-jre-headless` (Debian/Ubuntu) or `brew install openjdk@%d` (macOS)", major, major)
}

// installHint is installCommands plus the JAVA_HOME alternative.
func installHint(major int) string {
	return fmt.Sprintf("%s, or set JAVA_HOME to an existing Java %d installation", installCommands(major), major)
}

// javaHomeOf derives JAVA_HOME from a java executable, following symlinks
// such as /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/.../bin/java.
func javaHomeOf(path string) string {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	return filepath.Dir(filepath.Dir(real))
}

// javaVersionRE matches the first line of `java -version`, e.g.
// `openjdk version "17.0.15" 2025-04-15` or `java version "1.8.0_392"`.
var javaVersionRE = regexp.MustCompile(`(?m)^\S+ version "([^"]+)"`)

// ParseJavaVersion extracts the full version string and the major version
// from `java -version` output. Java 8 and older report "1.N.x"; Java 9+
// report "N[.x...]" (possibly "N-ea").
func ParseJavaVersion(out string) (version string, major int, err error) {
	m := javaVersionRE.FindStringSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("no version line in output %q", firstLine(out))
	}
	version = m[1]
	fields := strings.FieldsFunc(version, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	if len(fields) > 1 && fields[0] == "1" {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		return "", 0, fmt.Errorf("unparsable java version %q", version)
	}
	major, err = strconv.Atoi(fields[0])
	if err != nil || major <= 0 {
		return "", 0, fmt.Errorf("unparsable java version %q", version)
	}
	return version, major, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
