package spark_test

import (
	"archive/zip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthcluster/hearth/spark"
)

func TestUIAuthorizationIsAnHS256JWS(t *testing.T) {
	key := spark.NewUIKey()
	now := time.Unix(1_800_000_000, 0)
	auth, err := spark.UIAuthorization(key, now)
	if err != nil {
		t.Fatal(err)
	}
	jws, ok := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(jws, ".")
	if !ok || len(parts) != 3 {
		t.Fatalf("authorization %q is not a Bearer JWS", auth)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, raw)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if got := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); got != parts[2] {
		t.Errorf("signature %s, want %s", parts[2], got)
	}
	var header struct{ Alg string }
	var claims struct{ Exp, Iat int64 }
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(h, &header)
	json.Unmarshal(c, &claims)
	if header.Alg != "HS256" || claims.Iat != now.Unix() || claims.Exp <= now.Unix() || claims.Exp > now.Add(10*time.Minute).Unix() {
		t.Errorf("header %+v claims %+v: want HS256, a short expiry", header, claims)
	}
	if _, err := spark.UIAuthorization("short", now); err == nil {
		t.Errorf("a key under 32 bytes was accepted")
	}
}

func TestSecurityDefaults(t *testing.T) {
	for _, tc := range []struct {
		version string
		filter  bool
	}{{"4.0.1", true}, {"3.5.5", true}, {"2.4.8", false}} {
		d := spark.SecurityDefaults(tc.version)
		if tc.filter && (d[spark.ConfAuthenticate] != "true" || d[spark.ConfRESTEnabled] != "false") {
			t.Errorf("%s: %v", tc.version, d)
		}
		if _, has := d[spark.ConfUIFilters]; has != tc.filter {
			t.Errorf("%s: UI filter %v, want %v", tc.version, has, tc.filter)
		}
		for k := range d {
			if strings.Contains(k, "secret") {
				t.Errorf("%s: the shown defaults carry %s", tc.version, k)
			}
		}
		s := spark.SecretDefaults(tc.version, "s3cret", "key")
		if s[spark.ConfAuthSecret] != "s3cret" || (spark.UIKeyConf(tc.version) != "" && s[spark.UIKeyConf(tc.version)] == "key") != tc.filter {
			t.Errorf("%s: secret defaults %v", tc.version, s)
		}
	}
}

func TestAuthJVMOptionsFileIsPrivate(t *testing.T) {
	node := t.TempDir()
	dirs := spark.NodeDirs{Conf: filepath.Join(node, "conf"), Work: filepath.Join(node, "work")}
	os.MkdirAll(dirs.Conf, 0o700)
	opt, err := spark.WriteAuthJVMOptions(dirs, "abc123")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dirs.Conf, spark.AuthJVMOptionsFile)
	// Relative to a driver's working directory, work/<driver id>: the same
	// option finds each node's own file.
	if opt != "-XX:VMOptionsFile=../../conf/"+spark.AuthJVMOptionsFile || strings.Contains(opt, "abc123") {
		t.Errorf("option %q", opt)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "-Dspark.authenticate.secret=abc123\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("file %q mode %v", b, fi.Mode().Perm())
	}
	if _, err := spark.WriteAuthJVMOptions(dirs, "a b"); err == nil {
		t.Errorf("a secret with a space was accepted")
	}
}

func TestUIFilterJarHoldsTheCurrentSource(t *testing.T) {
	dir := t.TempDir()
	path, err := spark.WriteUIFilterJar(dir)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var src, class bool
	want, _ := os.ReadFile(filepath.Join("uifilter", "GatewayFilter.java"))
	for _, f := range z.File {
		switch f.Name {
		case "GatewayFilter.java":
			r, _ := f.Open()
			got, _ := io.ReadAll(r)
			r.Close()
			src = string(got) == string(want)
		case "hearth/spark/ui/GatewayFilter.class":
			class = true
		}
	}
	if !src || !class {
		t.Errorf("%s does not hold GatewayFilter.class built from the current uifilter/GatewayFilter.java; run make ui-filter", path)
	}
}
