package spark

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultVersion is the Spark version Hearth uses when no release label is
// given. It is the pyspark version Hearth installs and tests against.
const DefaultVersion = "4.0.1"

// Release is a resolved release label: the Spark version it stands for and
// the Java versions that Spark runs on.
type Release struct {
	Label        string // as the user gave it, e.g. "emr-7.9.0" or "spark-4.0.1"
	SparkVersion string // e.g. "3.5.5"
	// MinJava and MaxJava are the Java major versions this Spark runs on,
	// inclusive. MaxJava 0 means no known maximum.
	MinJava, MaxJava int
}

// sparkSeries lists the Apache Spark releases Hearth knows, as one line per
// minor series with its first and last patch number (3.1.0 was never
// released). Source: the Apache archive and the pyspark release history.
var sparkSeries = []struct {
	series      string
	first, last int
}{
	{"2.0", 0, 2}, {"2.1", 0, 3}, {"2.2", 0, 3}, {"2.3", 0, 4}, {"2.4", 0, 8},
	{"3.0", 0, 3}, {"3.1", 1, 3}, {"3.2", 0, 4}, {"3.3", 0, 4}, {"3.4", 0, 4}, {"3.5", 0, 9},
	{"4.0", 0, 5}, {"4.1", 0, 4}, {"4.2", 0, 1}, {"4.3", 0, 0},
}

// emrSpark maps each Amazon EMR release label (without the "emr-" prefix)
// to the Apache Spark version that release shipped, grouped by Spark
// version. EMR's build is "<version>-amzn-N"; Hearth runs the Apache release
// of the same number. Source: the AWS EMR Release Guide ("Spark release
// history" and the per-series application version tables). Patch releases
// (5.36.1, 6.9.1, ...) keep the Spark version of their minor release.
var emrSpark = []struct{ spark, labels string }{
	{"2.0.0", "5.0.0"},
	{"2.0.1", "5.0.3 5.1.0"},
	{"2.0.2", "5.2.0 5.2.1 5.2.2"},
	{"2.1.0", "5.3.0 5.3.1 5.4.0 5.5.0 5.5.1 5.5.2 5.5.3 5.5.4"},
	{"2.1.1", "5.6.0 5.6.1 5.7.0 5.7.1"},
	{"2.2.0", "5.8.0 5.8.1 5.8.2 5.8.3 5.9.0 5.9.1 5.10.0 5.10.1"},
	{"2.2.1", "5.11.0 5.11.1 5.11.2 5.11.3 5.11.4 5.12.0 5.12.1 5.12.2 5.12.3"},
	{"2.3.0", "5.13.0 5.13.1 5.14.0 5.14.1 5.14.2 5.15.0 5.15.1"},
	{"2.3.1", "5.16.0 5.16.1 5.17.0 5.17.1 5.17.2"},
	{"2.3.2", "5.18.0 5.18.1 5.19.0 5.19.1"},
	{"2.4.0", "5.20.0 5.20.1 5.21.0 5.21.1 5.21.2 5.22.0 5.23.0 5.23.1"},
	{"2.4.2", "5.24.0 5.24.1"},
	{"2.4.3", "5.25.0 5.26.0"},
	{"2.4.4", "5.27.0 5.27.1 5.28.0 5.28.1 5.29.0 6.0.0"},
	{"2.4.5", "5.30.0 5.30.1 5.30.2"},
	{"2.4.6", "5.31.0 5.31.1"},
	{"2.4.7", "5.32.0 5.32.1 5.33.0 5.33.1"},
	{"2.4.8", "5.34.0 5.35.0 5.36.0 5.36.1"},
	{"3.0.0", "6.1.0 6.1.1"},
	{"3.0.1", "6.2.0 6.2.1"},
	{"3.1.1", "6.3.0 6.3.1"},
	{"3.1.2", "6.4.0 6.5.0"},
	{"3.2.0", "6.6.0"},
	{"3.2.1", "6.7.0"},
	{"3.3.0", "6.8.0 6.8.1 6.9.0 6.9.1"},
	{"3.3.1", "6.10.0 6.10.1"},
	{"3.3.2", "6.11.0 6.11.1"},
	{"3.4.0", "6.12.0"},
	{"3.4.1", "6.13.0 6.14.0 6.15.0"},
	{"3.5.0", "7.0.0 7.1.0"},
	{"3.5.1", "7.2.0 7.3.0"},
	{"3.5.2", "7.4.0 7.5.0"},
	{"3.5.3", "7.6.0 7.7.0"},
	{"3.5.4", "7.8.0"},
	{"3.5.5", "7.9.0 7.10.0"},
	{"3.5.6", "7.11.0 7.12.0 7.13.0"},
}

// catalog is the parsed form of sparkSeries and emrSpark.
type catalog struct {
	spark []semver          // sorted ascending
	emr   []semver          // sorted ascending
	emrTo map[semver]semver // EMR release -> Spark version
}

var known = buildCatalog()

func buildCatalog() catalog {
	c := catalog{emrTo: map[semver]semver{}}
	for _, s := range sparkSeries {
		v, ok := parseSemver(s.series + ".0")
		if !ok {
			panic("spark: bad series " + s.series)
		}
		for p := s.first; p <= s.last; p++ {
			c.spark = append(c.spark, semver{v.major, v.minor, p})
		}
	}
	for _, e := range emrSpark {
		sv, ok := parseSemver(e.spark)
		if !ok || !slices.Contains(c.spark, sv) {
			panic("spark: EMR table names unknown Spark " + e.spark)
		}
		for _, l := range strings.Fields(e.labels) {
			ev, ok := parseSemver(l)
			if !ok {
				panic("spark: bad EMR label " + l)
			}
			if _, dup := c.emrTo[ev]; dup {
				panic("spark: duplicate EMR label " + l)
			}
			c.emrTo[ev] = sv
			c.emr = append(c.emr, ev)
		}
	}
	slices.SortFunc(c.spark, semver.cmp)
	slices.SortFunc(c.emr, semver.cmp)
	return c
}

// ResolveRelease maps a release label to a Release. The empty label means
// "spark-" + DefaultVersion. Accepted labels are "spark-X.Y.Z" for a known
// Apache Spark release and "emr-X.Y.Z" for a known Amazon EMR release (see
// KnownLabels); matching ignores case and surrounding space. Any other label
// yields an error that names it, lists the known labels and says how to fix
// it; the error is the only failure mode.
func ResolveRelease(label string) (Release, error) {
	given := strings.TrimSpace(label)
	if given == "" {
		given = "spark-" + DefaultVersion
	}
	norm := strings.ToLower(given)
	switch {
	case strings.HasPrefix(norm, "spark-"):
		if v, ok := exactSemver(strings.TrimPrefix(norm, "spark-")); ok && slices.Contains(known.spark, v) {
			return newRelease(given, v), nil
		}
	case strings.HasPrefix(norm, "emr-"):
		if v, ok := exactSemver(strings.TrimPrefix(norm, "emr-")); ok {
			if sv, ok := known.emrTo[v]; ok {
				return newRelease(given, sv), nil
			}
		}
	}
	return Release{}, unknownLabelError(label, norm)
}

func newRelease(label string, v semver) Release {
	lo, hi := javaRange(v)
	return Release{Label: label, SparkVersion: v.String(), MinJava: lo, MaxJava: hi}
}

func unknownLabelError(label, norm string) error {
	var hint string
	if v, ok := exactSemver(norm); ok {
		switch {
		case slices.Contains(known.spark, v):
			hint = fmt.Sprintf(" (did you mean spark-%s?)", v)
		case known.emrTo[v] != semver{}:
			hint = fmt.Sprintf(" (did you mean emr-%s?)", v)
		}
	}
	return fmt.Errorf("release-label %q: unknown release label%s; known labels: %s (not every patch release inside a range exists). "+
		"Use one of them, e.g. spark-%s or emr-%s, or leave release-label empty for spark-%s",
		label, hint, compactLabels(), DefaultVersion, known.emr[len(known.emr)-1], DefaultVersion)
}

// compactLabels renders the known labels as ranges, one per Spark major
// version and one per EMR major version.
func compactLabels() string {
	var parts []string
	add := func(prefix string, vs []semver, sep string) {
		for i := 0; i < len(vs); {
			j := i
			for j+1 < len(vs) && vs[j+1].major == vs[i].major {
				j++
			}
			parts = append(parts, fmt.Sprintf("%s%s%s%s", prefix, vs[i], sep, vs[j]))
			i = j + 1
		}
	}
	add("spark-", known.spark, "..")
	add("emr-", known.emr, "..")
	return strings.Join(parts, ", ")
}

// KnownLabels returns every release label ResolveRelease accepts, spark-*
// labels first, each group in ascending version order. The slice is fresh.
func KnownLabels() []string {
	out := make([]string, 0, len(known.spark)+len(known.emr))
	for _, v := range known.spark {
		out = append(out, "spark-"+v.String())
	}
	for _, v := range known.emr {
		out = append(out, "emr-"+v.String())
	}
	return out
}

// javaRange is the Java major versions a Spark version runs on (max 0 =
// no known maximum). Versions newer than any known series get Spark 4's range.
func javaRange(v semver) (lo, hi int) {
	switch {
	case v.major >= 4:
		return 17, 0
	case v.major == 3 && v.minor >= 3:
		return 8, 17
	case v.major == 3:
		return 8, 11
	default:
		return 8, 8
	}
}

// CheckJava reports whether j can run this release's Spark. It returns nil
// when j.Major is within [MinJava, MaxJava] (or the release has no known
// range), otherwise an error naming the label, the Spark and Java versions
// involved, and what to use instead.
func (r Release) CheckJava(j Java) error {
	if r.MinJava == 0 || (j.Major >= r.MinJava && (r.MaxJava == 0 || j.Major <= r.MaxJava)) {
		return nil
	}
	what := "is Spark " + r.SparkVersion
	if strings.HasPrefix(strings.ToLower(r.Label), "emr-") {
		what = "ships Spark " + r.SparkVersion
	}
	host := fmt.Sprintf("Java %d", j.Major)
	if j.Path != "" {
		host += " (" + j.Path + ")"
	}
	alts := alternativesFor(j.Major)
	var fix string
	switch {
	case j.Major < r.MinJava:
		fix = fmt.Sprintf("Install Java %d with %s and point JAVA_HOME at it", r.MinJava, installCommands(r.MinJava))
		if alts != "" {
			fix += ", or use " + alts
		}
	case alts != "":
		fix = "Use " + alts + ", or set JAVA_HOME to a " + javaWords(r.MinJava, r.MaxJava) + " installation"
	default:
		fix = "Set JAVA_HOME to a " + javaWords(r.MinJava, r.MaxJava) + " installation"
	}
	return fmt.Errorf("release-label %s %s, which needs %s; this host has %s. %s",
		r.Label, what, javaWords(r.MinJava, r.MaxJava), host, fix)
}

// javaWords renders a Java range: "Java 8", "Java 8 to 11", "Java 17 or later".
func javaWords(lo, hi int) string {
	switch {
	case hi == 0:
		return fmt.Sprintf("Java %d or later", lo)
	case lo == hi:
		return fmt.Sprintf("Java %d", lo)
	default:
		return fmt.Sprintf("Java %d to %d", lo, hi)
	}
}

// alternativesFor names the release labels that run on Java major: the span
// of EMR releases whose Spark accepts it, and the preferred spark-* label
// (DefaultVersion if it fits, else the newest that does). Empty if none.
func alternativesFor(major int) string {
	fits := func(v semver) bool {
		lo, hi := javaRange(v)
		return major >= lo && (hi == 0 || major <= hi)
	}
	var opts []string
	var first, last semver
	for _, e := range known.emr {
		if fits(known.emrTo[e]) {
			if first == (semver{}) {
				first = e
			}
			last = e
		}
	}
	if first != (semver{}) {
		opts = append(opts, fmt.Sprintf("emr-%s through emr-%s (Spark %s to %s)", first, last, known.emrTo[first], known.emrTo[last]))
	}
	def, _ := parseSemver(DefaultVersion)
	if fits(def) {
		opts = append(opts, "spark-"+DefaultVersion)
	} else {
		for i := len(known.spark) - 1; i >= 0; i-- {
			if fits(known.spark[i]) {
				opts = append(opts, "spark-"+known.spark[i].String())
				break
			}
		}
	}
	return strings.Join(opts, " or ")
}

// PackageName is the base name of the Apache binary archive for a Spark
// version, without ".tgz": "spark-4.0.1-bin-hadoop3". Spark 3.3 and later,
// and any version it cannot parse, use the hadoop3 build; 3.0 to 3.2 use
// hadoop3.2; 2.x and older use hadoop2.7.
func PackageName(version string) string {
	suffix := "hadoop3"
	if v, ok := parseSemver(version); ok {
		switch {
		case v.major <= 2:
			suffix = "hadoop2.7"
		case v.major == 3 && v.minor <= 2:
			suffix = "hadoop3.2"
		}
	}
	return "spark-" + version + "-bin-" + suffix
}

// semver is a plain major.minor.patch version.
type semver struct{ major, minor, patch int }

// parseSemver parses "X.Y.Z" (digits only). A pre-release suffix such as
// "4.0.0-preview2" is accepted and ignored for the numeric value.
func parseSemver(s string) (semver, bool) {
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return semver{}, false
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return semver{}, false
		}
		n[i], _ = strconv.Atoi(p)
	}
	return semver{n[0], n[1], n[2]}, true
}

// exactSemver is parseSemver without a suffix: s must be exactly "X.Y.Z"
// in canonical form (no leading zeros).
func exactSemver(s string) (semver, bool) {
	v, ok := parseSemver(s)
	return v, ok && v.String() == s
}

func (v semver) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v semver) cmp(w semver) int {
	if c := v.major - w.major; c != 0 {
		return c
	}
	if c := v.minor - w.minor; c != 0 {
		return c
	}
	return v.patch - w.patch
}
