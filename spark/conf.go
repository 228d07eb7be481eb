package spark

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ConfFiles is a node's configuration directory's content: file name to
// key/value pairs. Empty maps produce no file.
type ConfFiles struct {
	SparkDefaults map[string]string // spark-defaults.conf
	SparkEnv      map[string]string // spark-env.sh (each exported)
	Log4j2        map[string]string // log4j2.properties
	Metrics       map[string]string // metrics.properties
	HiveSite      map[string]string // hive-site.xml
}

// Render returns the files' contents by name, deterministic (sorted keys).
func (c ConfFiles) Render() map[string]string {
	out := map[string]string{}
	if len(c.SparkDefaults) > 0 {
		out["spark-defaults.conf"] = lines(c.SparkDefaults, func(k, v string) string { return k + " " + v })
	}
	if len(c.SparkEnv) > 0 {
		out["spark-env.sh"] = "#!/usr/bin/env bash\n# Written by Hearth from the cluster's spark-env configuration.\n" +
			lines(c.SparkEnv, func(k, v string) string { return "export " + k + "=" + shellQuote(v) })
	}
	if len(c.Log4j2) > 0 {
		out["log4j2.properties"] = lines(c.Log4j2, func(k, v string) string { return k + " = " + v })
	}
	if len(c.Metrics) > 0 {
		out["metrics.properties"] = lines(c.Metrics, func(k, v string) string { return k + "=" + v })
	}
	if len(c.HiveSite) > 0 {
		out["hive-site.xml"] = "<?xml version=\"1.0\"?>\n<configuration>\n" + lines(c.HiveSite, func(k, v string) string {
			return fmt.Sprintf("  <property><name>%s</name><value>%s</value></property>", html.EscapeString(k), html.EscapeString(v))
		}) + "</configuration>\n"
	}
	return out
}

func lines(m map[string]string, f func(k, v string) string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(f(k, m[k]) + "\n")
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// WriteConfDir makes dir hold exactly the files of c (files it wrote
// before and c no longer has are removed), each written atomically. It
// returns a digest of the content, which changes when any file does.
//
// The directory is 0700 and every file 0600: spark-defaults.conf holds the
// cluster's secrets.
func WriteConfDir(dir string, c ConfFiles) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	files := c.Render()
	h := sha256.New()
	names := []string{"spark-defaults.conf", "spark-env.sh", "log4j2.properties", "metrics.properties", "hive-site.xml"}
	for _, name := range names {
		path := filepath.Join(dir, name)
		body, ok := files[name]
		if !ok {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				return "", err
			}
			continue
		}
		fmt.Fprintf(h, "%s\x00%s\x00", name, body)
		if err := WritePrivate(path, []byte(body)); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
