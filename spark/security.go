package spark

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "embed"
)

// Spark's security settings, as Hearth uses them. Every cluster's RPC is
// authenticated with a per-cluster secret (spark.authenticate), which the
// standalone worker hands its executors in their environment. Its web UIs
// (master, workers, applications, History Server) answer only requests
// carrying a token signed with the cluster's UI key: Spark 4's JWSFilter
// checks "Authorization: Bearer <HS256 JWS>", and the master's reverse
// proxy passes that header on to the worker and application UIs it serves.
const (
	ConfAuthenticate = "spark.authenticate"
	ConfAuthSecret   = "spark.authenticate.secret"
	ConfRESTEnabled  = "spark.master.rest.enabled"
	ConfCrypto       = "spark.network.crypto.enabled"
	ConfUIFilters    = "spark.ui.filters"
	// jwsFilter is Spark 4's; gatewayFilter is Hearth's own for Spark 3
	// (spark/uifilter), which checks the same tokens.
	jwsFilter     = "org.apache.spark.ui.JWSFilter"
	gatewayFilter = "hearth.spark.ui.GatewayFilter"
	// EnvConnectToken is where Spark Connect 4 reads the token its clients
	// must present (Authorization: Bearer, or ;token= in an sc:// URL).
	EnvConnectToken = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
	// uiTokenLifetime bounds how long a token the gateway signed is good
	// for: the master's proxy forwards it to any UI an application
	// registers, so it must not be worth keeping.
	uiTokenLifetime = 5 * time.Minute
)

// uiFilter is the UI filter class Spark version runs with, "" if none.
func uiFilter(version string) string {
	v, ok := parseSemver(version)
	switch {
	case !ok || v.major < 3:
		return ""
	case v.major == 3:
		return gatewayFilter
	default:
		return jwsFilter
	}
}

// HasUIFilter reports whether Spark version's UIs can be made to answer
// only the gateway (Spark 3 with Hearth's filter, Spark 4 with its own).
func HasUIFilter(version string) bool { return uiFilter(version) != "" }

// NeedsUIFilterJar reports whether Spark version's daemons and drivers
// need Hearth's filter jar (WriteUIFilterJar) on their classpath.
func NeedsUIFilterJar(version string) bool { return uiFilter(version) == gatewayFilter }

// HasConnectAuth reports whether Spark version's Connect server checks a
// token (EnvConnectToken): Spark 4 and later.
func HasConnectAuth(version string) bool { return uiFilter(version) == jwsFilter }

// UIKeyConf is the spark-defaults key that carries the UI key for Spark
// version's filter ("" without one).
func UIKeyConf(version string) string {
	if f := uiFilter(version); f != "" {
		return "spark." + f + ".param.secretKey"
	}
	return ""
}

// SecurityDefaults are the non-secret spark-defaults of a cluster of
// Spark version whose RPC is authenticated (and, where Spark can, whose UIs
// are filtered): what describe-cluster may show.
func SecurityDefaults(version string) map[string]string {
	m := map[string]string{
		ConfAuthenticate: "true",
		// The REST submission server does not authenticate; Spark refuses
		// to start it with a secret anyway.
		ConfRESTEnabled: "false",
	}
	if f := uiFilter(version); f != "" {
		m[ConfUIFilters] = f
	}
	return m
}

// SecretDefaults are the spark-defaults that carry a cluster's secrets.
// They belong in a conf file only the node's user can read, never on a
// command line, in a log or in an API answer.
func SecretDefaults(version, authSecret, uiKey string) map[string]string {
	m := map[string]string{ConfAuthSecret: authSecret}
	if k := UIKeyConf(version); k != "" && uiKey != "" {
		m[k] = uiKey
	}
	return m
}

// NewUIKey returns a new UI key: 32 random bytes, base64url, as
// JWSFilter's secretKey wants (HS256 needs at least 256 bits).
func NewUIKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// UIAuthorization returns the Authorization header value Spark's UIs
// accept for uiKey (a NewUIKey value): a JWS (HS256) valid for a few
// minutes from now.
func UIAuthorization(uiKey string, now time.Time) (string, error) {
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(uiKey, "="))
	if err != nil || len(key) < 32 {
		return "", fmt.Errorf("UI key: want base64url of at least 32 bytes")
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{"hearth-gateway", now.Unix(), now.Add(uiTokenLifetime).Unix()})
	signing := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signing))
	return "Bearer " + signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// AuthJVMOptionsFile is the file, in a node's conf directory, that hands a
// driver launched by a worker (cluster deploy mode) the cluster's RPC
// secret: Spark's worker strips -Dspark.authenticate.secret from the
// driver's options and its SecurityManager then refuses to start
// (SPARK-25078), so the driver reads it from this file instead, through
// the JVM's -XX:VMOptionsFile, and only the file's path is ever on a
// command line.
const AuthJVMOptionsFile = "spark-auth.jvmopts"

// WriteAuthJVMOptions writes AuthJVMOptionsFile into dirs.Conf (mode 0600)
// and returns the JVM option that reads it in a driver a worker launches.
// The path is relative to such a driver's working directory
// (dirs.Work/<driver id>), so one option finds the file on whichever node
// the driver lands, every node's agent having written its own.
func WriteAuthJVMOptions(dirs NodeDirs, authSecret string) (string, error) {
	if strings.ContainsAny(authSecret, " \t\r\n\"'\\") {
		return "", fmt.Errorf("auth secret: must not contain spaces, quotes or backslashes")
	}
	path := filepath.Join(dirs.Conf, AuthJVMOptionsFile)
	if err := WritePrivate(path, []byte("-D"+ConfAuthSecret+"="+authSecret+"\n")); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(filepath.Join(dirs.Work, "driver"), path)
	if err != nil {
		return "", err
	}
	return "-XX:VMOptionsFile=" + rel, nil
}

// WritePrivate writes body to path (mode 0600) through a temporary file
// renamed into place.
func WritePrivate(path string, body []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return err
	}
	return os.Rename(tmp, path)
}

// uiFilterJar is Hearth's Spark 3 UI filter, built from
// uifilter/GatewayFilter.java by `make ui-filter`.
//
//go:embed uifilter/hearth-ui-filter.jar
var uiFilterJar []byte

// UIFilterJarName is the file WriteUIFilterJar writes.
const UIFilterJarName = "hearth-ui-filter.jar"

// WriteUIFilterJar writes Hearth's Spark 3 UI filter jar into dir and
// returns its path, for SPARK_DAEMON_CLASSPATH and
// spark.driver.extraClassPath.
func WriteUIFilterJar(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, UIFilterJarName)
	if b, err := os.ReadFile(path); err == nil && string(b) == string(uiFilterJar) {
		return path, nil
	}
	return path, WritePrivate(path, uiFilterJar)
}
