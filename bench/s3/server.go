package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/hearthcluster/hearth/bench/internal/benchutil"
)

// bucket holds every object the benchmark stores.
const bucket = "hearth-bench"

// bench holds the one server (and, for part 2, the one cluster) every
// measurement uses.
type bench struct {
	cfg    config
	root   string
	hearth *benchutil.Hearth
	warn   func(format string, a ...any)

	s3 s3Access // what `hearth s3 env` printed

	clusterID string // part 2
}

// s3Access is the store's endpoint and key, as `hearth s3 env` prints them.
type s3Access struct {
	Endpoint, AccessKeyID, SecretAccessKey, Region string
}

// startServer starts the benchmark's server (its built-in store on a free
// loopback port, the shared S3A jar cache), reads the store's endpoint and
// key with `hearth s3 env`, and refuses any endpoint that is not the
// loopback port it chose.
func (b *bench) startServer(ctx context.Context) error {
	h := b.hearth
	h.ExtraEnv = append(h.ExtraEnv, "HEARTH_JAR_CACHE="+b.cfg.jarCache)
	if err := h.Start(ctx); err != nil {
		return err
	}
	out, err := h.CLI(ctx, "s3", "env")
	if err != nil {
		return err
	}
	if b.s3, err = parseS3Env(out); err != nil {
		return err
	}
	if b.s3.Endpoint != h.S3 {
		return fmt.Errorf("hearth s3 env: endpoint %q, but the server was started with --s3-listen %s", b.s3.Endpoint, h.S3)
	}
	return loopbackOnly(b.s3.Endpoint)
}

// parseS3Env reads the `export NAME=value` lines `hearth s3 env` prints;
// a value may be single-quoted as a POSIX shell reads it.
func parseS3Env(out []byte) (s3Access, error) {
	var a s3Access
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
		}
		switch k {
		case "AWS_ENDPOINT_URL_S3":
			a.Endpoint = v
		case "AWS_ACCESS_KEY_ID":
			a.AccessKeyID = v
		case "AWS_SECRET_ACCESS_KEY":
			a.SecretAccessKey = v
		case "AWS_DEFAULT_REGION":
			a.Region = v
		}
	}
	if a.Endpoint == "" || a.AccessKeyID == "" || a.SecretAccessKey == "" || a.Region == "" {
		return a, fmt.Errorf("hearth s3 env: want AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION, got %d line(s) without all four", bytes.Count(out, []byte("\n")))
	}
	return a, nil
}

// loopbackOnly refuses an endpoint that is not on this host: no request of
// this benchmark may leave it.
func loopbackOnly(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("S3 endpoint %q: want http://127.0.0.1:<port>", endpoint)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("S3 endpoint %q is not a loopback address: refusing to send it anything", endpoint)
	}
	return nil
}

// awsEnv is the aws CLI's environment: this process's without any AWS_*
// variable or proxy, plus the store's key and region. Configuration files
// are /dev/null, so nothing but --endpoint-url says where requests go.
func (b *bench) awsEnv() []string {
	var env []string
	for _, kv := range benchutil.CleanEnv() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		if !strings.HasPrefix(k, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+b.s3.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+b.s3.SecretAccessKey,
		"AWS_DEFAULT_REGION="+b.s3.Region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "NO_PROXY=127.0.0.1,localhost")
}

// aws runs `aws <args> --endpoint-url <the built-in store>` (the CLI 2.9 on
// this machine ignores AWS_ENDPOINT_URL_S3) and returns how long it took,
// from just before the process starts until it has exited.
func (b *bench) aws(ctx context.Context, args ...string) (time.Duration, error) {
	if err := loopbackOnly(b.s3.Endpoint); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cfg.awsBin, append(args, "--endpoint-url", b.s3.Endpoint)...)
	cmd.Env = b.awsEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("aws %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return d, nil
}

// makeBucket creates the benchmark's bucket with `aws s3 mb`.
func (b *bench) makeBucket(ctx context.Context) error {
	_, err := b.aws(ctx, "s3", "mb", "s3://"+bucket)
	return err
}

func awsVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	v := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(v, "aws-cli/") {
		return "", fmt.Errorf("-aws %s --version: %v %q (the aws CLI v2 is installed by scripts/test-deps.sh)", bin, err, v)
	}
	return v, nil
}

func cpVersion() string {
	out, _ := exec.Command("cp", "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}
