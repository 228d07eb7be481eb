package hearth

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Configuration is EMR's configuration classification: properties for one
// configuration file, possibly nested (spark-env's "export").
type Configuration struct {
	Classification string            `json:"Classification"`
	Properties     map[string]string `json:"Properties,omitempty"`
	Configurations []Configuration   `json:"Configurations,omitempty"`
}

// The classifications Hearth renders, and what each becomes.
var classifications = map[string]string{
	"spark":           "Hearth's own settings (maximizeResourceAllocation)",
	"spark-defaults":  "spark-defaults.conf",
	"spark-env":       "spark-env.sh (properties in a nested \"export\" classification)",
	"spark-log4j2":    "log4j2.properties",
	"spark-metrics":   "metrics.properties",
	"spark-hive-site": "hive-site.xml",
}

// SupportedClassifications lists the classifications Hearth accepts.
func SupportedClassifications() []string {
	out := make([]string, 0, len(classifications))
	for c := range classifications {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ValidateConfigurations checks configurations given at field (e.g.
// "configurations" or "instance-groups[1].Configurations"): known
// classifications, well-formed properties, nesting only where EMR has it.
func ValidateConfigurations(field string, cs []Configuration) error {
	for i, c := range cs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, ok := classifications[c.Classification]; !ok {
			return Invalid(f+".Classification", fmt.Sprintf("%q", c.Classification),
				"not a classification Hearth can apply to Spark standalone; supported: "+strings.Join(SupportedClassifications(), ", "))
		}
		if err := validateProperties(f, c.Classification, c.Properties); err != nil {
			return err
		}
		switch c.Classification {
		case "spark-defaults":
			for _, k := range sortedKeys(c.Properties) {
				if managedSparkDefaults[k] {
					return Invalid(f+".Properties", k, "Hearth sets this itself: every cluster's Spark RPC is authenticated with its own secret and its UIs answer only the gateway; remove it")
				}
			}
		case "spark":
			for _, k := range sortedKeys(c.Properties) {
				v := c.Properties[k]
				if k != "maximizeResourceAllocation" {
					return Invalid(f+".Properties", k, "the spark classification takes only maximizeResourceAllocation; put Spark properties in spark-defaults")
				}
				if v != "true" && v != "false" {
					return Invalid(f+".Properties.maximizeResourceAllocation", v, "must be true or false")
				}
			}
		case "spark-env":
			if len(c.Properties) > 0 {
				return Invalid(f+".Properties", "", "spark-env takes its variables in a nested {\"Classification\":\"export\",\"Properties\":{...}}")
			}
			for j, n := range c.Configurations {
				if n.Classification != "export" {
					return Invalid(fmt.Sprintf("%s.Configurations[%d].Classification", f, j), n.Classification, "spark-env nests only the export classification")
				}
				if err := validateProperties(fmt.Sprintf("%s.Configurations[%d]", f, j), "spark-env export", n.Properties); err != nil {
					return err
				}
				for k := range n.Properties {
					if !validEnvName(k) {
						return Invalid(fmt.Sprintf("%s.Configurations[%d].Properties", f, j), k, "not a shell variable name")
					}
				}
			}
			continue
		}
		if len(c.Configurations) > 0 {
			return Invalid(f+".Configurations", "", c.Classification+" takes no nested configurations")
		}
	}
	return nil
}

// managedSparkDefaults are the Spark properties that make a cluster secure
// (RPC authentication, UI filtering); Hearth sets them and no
// configuration may change them.
var managedSparkDefaults = map[string]bool{
	"spark.authenticate": true, "spark.authenticate.secret": true,
	"spark.authenticate.secret.file": true, "spark.authenticate.secret.driver.file": true, "spark.authenticate.secret.executor.file": true,
	"spark.master.rest.enabled": true, "spark.ui.filters": true,
	"spark.org.apache.spark.ui.JWSFilter.param.secretKey": true,
	"spark.hearth.spark.ui.GatewayFilter.param.secretKey": true,
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateProperties refuses property names and values that could not be
// written as one line of the file their classification becomes: a newline,
// carriage return, NUL or other control character would end the property
// early and smuggle in another (or a shell command, in spark-env.sh). Tabs
// are allowed. Properties are checked in name order, so the error is
// always about the same one.
func validateProperties(field, classification string, props map[string]string) error {
	for _, k := range sortedKeys(props) {
		if strings.TrimSpace(k) == "" || hasControl(k) {
			return Invalid(field+".Properties", fmt.Sprintf("%q", k), classification+" property names must be non-empty single lines without control characters")
		}
		if hasControl(props[k]) {
			return Invalid(fmt.Sprintf("%s.Properties[%q]", field, k), fmt.Sprintf("%q", props[k]),
				classification+" property values must be single lines without control characters (newline, carriage return, NUL); put a multi-line value in a file and name the file")
		}
	}
	return nil
}

// hasControl reports whether s has a control character other than tab.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && unicode.IsControl(r) })
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ApplyConfigurations merges cs into conf (later ones win) and reports
// whether maximizeResourceAllocation was asked for (true/false/unset as
// *bool).
func ApplyConfigurations(conf *NodeConf, cs []Configuration) (maximize *bool) {
	put := func(m *map[string]string, props map[string]string) {
		if len(props) == 0 {
			return
		}
		if *m == nil {
			*m = map[string]string{}
		}
		for k, v := range props {
			(*m)[k] = v
		}
	}
	for _, c := range cs {
		switch c.Classification {
		case "spark":
			if v, ok := c.Properties["maximizeResourceAllocation"]; ok {
				b := v == "true"
				maximize = &b
			}
		case "spark-defaults":
			put(&conf.SparkDefaults, c.Properties)
		case "spark-env":
			for _, n := range c.Configurations {
				put(&conf.SparkEnv, n.Properties)
			}
		case "spark-log4j2":
			put(&conf.Log4j2, c.Properties)
		case "spark-metrics":
			put(&conf.Metrics, c.Properties)
		case "spark-hive-site":
			put(&conf.HiveSite, c.Properties)
		}
	}
	return maximize
}

// BootstrapAction is EMR's BootstrapActionConfig: a script every node runs,
// in order, before Spark starts.
type BootstrapAction struct {
	Name                  string       `json:"Name"`
	ScriptBootstrapAction ScriptAction `json:"ScriptBootstrapAction"`
}

// ScriptAction is the script and its arguments.
type ScriptAction struct {
	Path string   `json:"Path"`
	Args []string `json:"Args,omitempty"`
}

// MaxBootstrapActions is EMR's limit.
const MaxBootstrapActions = 16

// ValidateBootstrapActions checks names, paths and the count. Local
// paths must be absolute (the server does not share the CLI's directory).
func ValidateBootstrapActions(actions []BootstrapAction) error {
	if len(actions) > MaxBootstrapActions {
		return Invalid("bootstrap-actions", fmt.Sprint(len(actions)), fmt.Sprintf("at most %d bootstrap actions", MaxBootstrapActions))
	}
	for i, a := range actions {
		f := fmt.Sprintf("bootstrap-actions[%d]", i)
		p := a.ScriptBootstrapAction.Path
		switch {
		case a.Name == "":
			return Invalid(f+".Name", "", "required")
		case p == "":
			return Invalid(f+".Path", "", "required: the script's location (s3://, file://, /absolute/path, http(s)://)")
		case strings.HasPrefix(p, "http://"), strings.HasPrefix(p, "https://"), strings.HasPrefix(p, "file:///"), strings.HasPrefix(p, "/"):
		default:
			bucket, key, ok := CutS3(p)
			switch {
			case !ok:
				return Invalid(f+".Path", p, "must be s3://bucket/key, file:///..., an absolute path or http(s)://...")
			case !validBucket(bucket) || key == "" || strings.HasSuffix(key, "/"):
				return Invalid(f+".Path", p, "must name a script object: s3://bucket/path/script.sh")
			}
		}
	}
	return nil
}

// Applications Hearth can install, by EMR name (case-insensitive).
var supportedApps = map[string]string{
	"spark":        "Spark",
	"jupyterlab":   "JupyterLab",
	"jupyter":      "JupyterLab",
	"sparkconnect": "SparkConnect",
	// Ganglia's place is taken by Hearth's own metrics: every cluster has
	// them (GangliaNote).
	"ganglia": "Ganglia",
}

// GangliaNote is what describe-cluster says of a cluster that asked for
// Ganglia.
const GangliaNote = "Ganglia: Hearth does not install Ganglia; every cluster's nodes report CPU, memory, disk, network and JVM heaps instead, drawn live on the cluster's console page and shown by `hearth top --cluster-id ID` (and as Prometheus metrics at /metrics)"

// refusedApps are EMR applications Hearth does not run, with what to use.
var refusedApps = map[string]string{
	"zeppelin": "Hearth does not run Zeppelin; ask for Name=JupyterLab, notebooks on the cluster (its PySpark sessions attached), reached through the console's UI gateway",
}

// NormalizeApplications validates requested applications and returns them
// with EMR's spelling, Spark first and always present.
func NormalizeApplications(apps []Application, sparkVersion string) ([]Application, error) {
	out := []Application{{Name: "Spark", Version: sparkVersion}}
	seen := map[string]bool{"Spark": true}
	for i, a := range apps {
		name, ok := supportedApps[strings.ToLower(a.Name)]
		if why, refused := refusedApps[strings.ToLower(a.Name)]; refused {
			return nil, Invalid(fmt.Sprintf("applications[%d].Name", i), fmt.Sprintf("%q", a.Name), why)
		}
		if !ok {
			return nil, Invalid(fmt.Sprintf("applications[%d].Name", i), fmt.Sprintf("%q", a.Name), "unsupported application; supported: Spark, JupyterLab (or Jupyter), SparkConnect, Ganglia (Hearth's own metrics)")
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, Application{Name: name})
		}
	}
	return out, nil
}

// HasApplication reports whether the cluster installs app.
func (c *Cluster) HasApplication(app string) bool {
	for _, a := range c.Applications {
		if a.Name == app {
			return true
		}
	}
	return false
}
