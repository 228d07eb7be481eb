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
	jwsFilter        = "org.apache.spark.ui.JWSFilter"
	ConfJWSKey       = "spark." + jwsFilter + ".param.secretKey"
	// EnvConnectToken is where Spark Connect 4 reads the token its clients
	// must present (Authorization: Bearer, or ;token= in an sc:// URL).
	EnvConnectToken = "SPARK_CONNECT_AUTHENTICATE_TOKEN"
	// uiTokenLifetime bounds how long a token the gateway signed is good
	// for: the master's proxy forwards it to any UI an application
	// registers, so it must not be worth keeping.
	uiTokenLifetime = 5 * time.Minute
)

// HasUIFilter reports whether Spark version has the JWS filter that lets
// only the gateway into its UIs (Spark 4.0 and later).
func HasUIFilter(version string) bool {
	v, ok := parseSemver(version)
	return ok && v.major >= 4
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
	if HasUIFilter(version) {
		m[ConfUIFilters] = jwsFilter
	}
	return m
}

// SecretDefaults are the spark-defaults that carry a cluster's secrets.
// They belong in a conf file only the node's user can read, never on a
// command line, in a log or in an API answer.
func SecretDefaults(version, authSecret, uiKey string) map[string]string {
	m := map[string]string{ConfAuthSecret: authSecret}
	if HasUIFilter(version) && uiKey != "" {
		m[ConfJWSKey] = uiKey
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

// WriteAuthJVMOptions writes AuthJVMOptionsFile into dir (mode 0600) and
// returns the JVM option that reads it.
func WriteAuthJVMOptions(dir, authSecret string) (string, error) {
	if strings.ContainsAny(authSecret, " \t\r\n\"'\\") {
		return "", fmt.Errorf("auth secret: must not contain spaces, quotes or backslashes")
	}
	path := filepath.Join(dir, AuthJVMOptionsFile)
	if err := writePrivate(path, []byte("-D"+ConfAuthSecret+"="+authSecret+"\n")); err != nil {
		return "", err
	}
	return "-XX:VMOptionsFile=" + path, nil
}

// writePrivate writes body to path (mode 0600) through a temporary file
// renamed into place.
func writePrivate(path string, body []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return err
	}
	return os.Rename(tmp, path)
}
