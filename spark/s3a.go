package spark

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultMavenURL is where the S3A connector's jars are fetched from.
const DefaultMavenURL = "https://repo1.maven.org/maven2"

// mavenJar is one artifact of the S3A connector, pinned by its SHA-256.
type mavenJar struct {
	group, artifact, version, sha256 string
}

func (j mavenJar) path() string {
	return fmt.Sprintf("%s/%s/%s/%s-%s.jar", strings.ReplaceAll(j.group, ".", "/"), j.artifact, j.version, j.artifact, j.version)
}

// s3aConnectors are, by the Hadoop version a Spark distribution bundles
// (jars/hadoop-client-api-<v>.jar), the hadoop-aws module built for it and
// the AWS SDK that module was built against. Spark 4.0 bundles Hadoop
// 3.4.1, Spark 3.5 Hadoop 3.3.4.
var s3aConnectors = map[string][]mavenJar{
	"3.4.1": {
		{"org.apache.hadoop", "hadoop-aws", "3.4.1", "01334a07e179cae2b7e251f24857f11e3759108c9d6a79dcbe362a4295227da2"},
		{"software.amazon.awssdk", "bundle", "2.24.6", "890bf9f2a80488f7a8aa8277d64d13a9ea3a3cdff8607ef3b63a878d8b467b41"},
	},
	"3.3.4": {
		{"org.apache.hadoop", "hadoop-aws", "3.3.4", "53f9ae03c681a30a50aa17524bd9790ab596b28481858e54efd989a826ed3a4a"},
		{"com.amazonaws", "aws-java-sdk-bundle", "1.12.262", "873fe7cf495126619997bec21c44de5d992544aea7e632fdc77adb1a0915bae5"},
	},
}

// HadoopVersion is the Hadoop release a Spark distribution bundles, from
// its hadoop-client-api jar ("" when it bundles none).
func (d Distribution) HadoopVersion() string {
	m, _ := filepath.Glob(filepath.Join(d.Home, "jars", "hadoop-client-api-*.jar"))
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[0]), "hadoop-client-api-"), ".jar")
}

// installS3A makes the S3A connector for d's Hadoop available in the jar
// cache, downloading and verifying what is missing, and returns the jars'
// paths. A distribution whose Hadoop has no known connector gets none:
// its clusters run, and Spark says "No FileSystem for scheme" if asked
// for s3://.
func (l *Locator) installS3A(ctx context.Context, d Distribution, progress io.Writer) ([]string, error) {
	hadoop := d.HadoopVersion()
	jars := s3aConnectors[hadoop]
	if len(jars) == 0 || l.MavenURL == "" {
		if hadoop != "" && l.MavenURL != "" {
			l.logger().Warn("no S3A connector known for this Hadoop; s3:// will not work on its clusters", "spark", d.Version, "hadoop", hadoop)
		}
		return nil, nil
	}
	dir := l.JarCacheDir
	if dir == "" {
		dir = filepath.Join(l.CacheDir, "maven")
	}
	var paths []string
	for _, j := range jars {
		p := filepath.Join(dir, filepath.FromSlash(j.path()))
		if _, err := os.Stat(p); err != nil {
			if err := l.fetchJar(ctx, j, p, progress); err != nil {
				return nil, err
			}
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// fetchJar downloads one jar into place through a temporary file, checking
// its SHA-256, so the cache only ever holds verified jars.
func (l *Locator) fetchJar(ctx context.Context, j mavenJar, dst string, progress io.Writer) error {
	url := strings.TrimRight(l.MavenURL, "/") + "/" + j.path()
	fmt.Fprintf(progress, "Downloading the S3A connector's %s %s from %s\n", j.artifact, j.version, url)
	if err := os.MkdirAll(filepath.Dir(dst), dirPerm); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	client := l.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w (set --maven-url to a reachable Maven repository, or \"none\" to run clusters without s3://)", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: HTTP %s (set --maven-url to a Maven repository that has it)", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), tempPrefixDL+j.artifact+"-*.jar")
	if err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	pw := &progressWriter{w: progress, total: resp.ContentLength, start: time.Now()}
	pw.last = pw.start
	if _, err := io.Copy(io.MultiWriter(tmp, h, pw), resp.Body); err != nil {
		return fmt.Errorf("download %s: %w", url, err)
	}
	pw.done()
	if got := hex.EncodeToString(h.Sum(nil)); got != j.sha256 {
		return fmt.Errorf("verify %s: SHA-256 %s…, expected %s…: the download is corrupt or the repository serves another file", url, got[:16], j.sha256[:16])
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("install %s: %w", dst, err)
	}
	return nil
}

// S3ADefaults are the spark-defaults that make s3://, s3a:// and s3n://
// URIs reach an S3 store through the S3A connector, as EMR's s3:// does.
// They hold the store's credentials: they belong in the node's private
// spark-defaults.conf only.
func S3ADefaults(endpoint, region, accessKeyID, secretAccessKey string) map[string]string {
	m := map[string]string{
		"spark.hadoop.fs.s3.impl":  "org.apache.hadoop.fs.s3a.S3AFileSystem",
		"spark.hadoop.fs.s3n.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
	}
	if accessKeyID != "" {
		// Static keys only: never fall back to instance metadata lookups.
		m["spark.hadoop.fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
		m["spark.hadoop.fs.s3a.access.key"] = accessKeyID
		m["spark.hadoop.fs.s3a.secret.key"] = secretAccessKey
	}
	if region != "" {
		m["spark.hadoop.fs.s3a.endpoint.region"] = region
	}
	if endpoint != "" {
		m["spark.hadoop.fs.s3a.endpoint"] = endpoint
		m["spark.hadoop.fs.s3a.path.style.access"] = "true"
		if strings.HasPrefix(endpoint, "http://") {
			m["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "false"
		}
	}
	return m
}
