package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/pki"
	ec2prov "github.com/hearthcluster/hearth/provision/ec2"
	"github.com/hearthcluster/hearth/provision/local"
	sshprov "github.com/hearthcluster/hearth/provision/ssh"
	"github.com/hearthcluster/hearth/s3store"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/postgres"
	"github.com/hearthcluster/hearth/store/sqlite"
	"github.com/hearthcluster/hearth/web"
	"github.com/spf13/cobra"
)

// serverOptions configure a control plane; defaultServerOptions fills them
// from the environment, and `hearth server`'s flags override them.
type serverOptions struct {
	home, listen, region string
	// database selects the store: a postgres:// or postgresql:// URL, else
	// a SQLite file ("": $HEARTH_HOME/hearth.db).
	database string
	// gatewayListen is the UI gateway's own address: a separate origin,
	// so that proxied pages cannot act as the console.
	gatewayListen         string
	sparkHome, archiveURL string
	// pipIndexURL is the index the PyPI fallback installs pyspark from;
	// "" means pip's own default, "none" turns the fallback off.
	pipIndexURL      string
	heartbeatTimeout time.Duration
	metricsInterval  time.Duration
	// s3Listen is the built-in S3 store's address ("" = --listen's port
	// + 2, or a free port; "none" = no store); s3Endpoint points clusters
	// at another store instead, s3Region is the region it signs for.
	s3Listen, s3Endpoint, s3Region string
	// mavenURL is where the S3A connector's jars come from ("none": no
	// connector); jarCache is where they are kept.
	mavenURL, jarCache string
	// cdsCache holds the daemons' class-data archives ("none": off);
	// cdsReadOnly uses them but builds none (hearth run's own control plane).
	cdsCache    string
	cdsReadOnly bool
	// advertiseURL is where agents on other machines reach the control
	// plane (https://HOST:PORT); agentListen is the address that TLS
	// listener binds ("" = advertiseURL's host and port).
	advertiseURL, agentListen string
	// provisioner runs clusters that name none.
	provisioner string
	// ec2 configures the ec2 provisioner (no subnet: not set up).
	ec2 ec2prov.Config
	// warmPool is --warm-pool: N or RELEASE=N, repeatable.
	warmPool []string
}

func defaultServerOptions(g *globals) serverOptions {
	return serverOptions{
		home:          g.home,
		database:      os.Getenv("HEARTH_DATABASE"),
		listen:        envOr("HEARTH_LISTEN", "127.0.0.1:8440"),
		gatewayListen: os.Getenv("HEARTH_GATEWAY_LISTEN"),
		region:        envOr("HEARTH_REGION", hearth.DefaultRegion),
		sparkHome:     os.Getenv("SPARK_HOME"),
		archiveURL:    envOr("HEARTH_SPARK_ARCHIVE", "https://archive.apache.org/dist/spark"),
		pipIndexURL:   os.Getenv("HEARTH_SPARK_PIP_INDEX_URL"),
		s3Listen:      os.Getenv("HEARTH_S3_LISTEN"),
		s3Endpoint:    os.Getenv("HEARTH_S3_ENDPOINT"),
		s3Region:      os.Getenv("HEARTH_S3_REGION"),
		mavenURL:      envOr("HEARTH_MAVEN_URL", spark.DefaultMavenURL),
		jarCache:      os.Getenv("HEARTH_JAR_CACHE"),
		cdsCache:      os.Getenv("HEARTH_CDS_CACHE"),
		warmPool:      strings.FieldsFunc(os.Getenv("HEARTH_WARM_POOL"), func(r rune) bool { return r == ',' || r == ' ' }),
		advertiseURL:  os.Getenv("HEARTH_ADVERTISE_URL"),
		agentListen:   os.Getenv("HEARTH_AGENT_LISTEN"),
		provisioner:   envOr("HEARTH_PROVISIONER", "local"),
		ec2: ec2prov.Config{
			Region: os.Getenv("HEARTH_EC2_REGION"), Subnet: os.Getenv("HEARTH_EC2_SUBNET"), AMI: os.Getenv("HEARTH_EC2_AMI"),
			KeyName: os.Getenv("HEARTH_EC2_KEY_NAME"), InstanceProfile: os.Getenv("HEARTH_EC2_INSTANCE_PROFILE"),
			ControlCIDR: os.Getenv("HEARTH_EC2_CONTROL_CIDR"), SSHCIDR: os.Getenv("HEARTH_EC2_SSH_CIDR"), Endpoint: os.Getenv("HEARTH_EC2_ENDPOINT"),
		},
	}
}

// cdsDir is where class-data archives live, "" when they are off.
func (o serverOptions) cdsDir() string {
	switch o.cdsCache {
	case "none":
		return ""
	case "":
		return filepath.Join(o.home, "runtime", "cds")
	}
	return o.cdsCache
}

// locator is where the control plane finds and installs Spark runtimes.
func (o serverOptions) locator(log *slog.Logger) *spark.Locator {
	l := &spark.Locator{SparkHome: o.sparkHome, CacheDir: filepath.Join(o.home, "runtime"), ArchiveURL: o.archiveURL, Logger: log,
		MavenURL: o.mavenURL, JarCacheDir: o.jarCache}
	if o.mavenURL == "none" {
		l.MavenURL = ""
	}
	switch o.pipIndexURL {
	case "":
	case "none":
		l.NoPyPI = true
	default:
		l.PipArgs = []string{"--index-url", o.pipIndexURL}
	}
	return l
}

func newServerCmd(g *globals) *cobra.Command {
	var logLevel string
	o := defaultServerOptions(g)
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API, agent endpoints, reconcilers)",
		Long: `Run Hearth's control plane on --listen (default 127.0.0.1:8440).
The web console is at its root (http://127.0.0.1:8440/): log in with the
admin token or an access key.

On first start it writes an admin credential to $HEARTH_HOME/admin.token
(mode 0600); every native API call must present it, or be signed (SigV4)
with an access key (hearth access-keys create). The same port serves
Amazon EMR's API (POST /, X-Amz-Target: ElasticMapReduce.*) for the aws CLI,
boto3 and the AWS SDKs: aws emr ... --endpoint-url http://127.0.0.1:8440.
GET /metrics serves Prometheus metrics to a bearer token from
$HEARTH_HOME/metrics.token (or the admin token). The database is
$HEARTH_HOME/hearth.db (SQLite), or PostgreSQL with --database
postgres://... Clusters keep running when the server stops; a restarted
server finds them again.

Servers on one PostgreSQL database are replicas of one control plane:
each serves the API, the console and agents, and one at a time (the
leader) runs the reconcile loops; when it dies another takes over within
seconds. Give the CLI every replica's URL ($HEARTH_ENDPOINT=URL,URL).
Replicas must share admin.token and master.key (a replica whose differ is
refused), and local clusters need the replicas on one host. hearth
replicas lists them.

Every cluster's Spark UIs (master, workers, applications, History Server,
JupyterLab) are served by the UI gateway on --gateway-listen, a separate
origin with its own session cookie, so a script in a proxied page cannot
act as the console. By default it is --listen's port + 1
(127.0.0.1:8441), or a free port if that one is taken (port 0: always a
free one); the startup log line says where it is. The console's links lead
there, and a logged-in browser gets in without logging in again. Browsers
reach both ports by the same host name.

A cluster whose Spark release is not on this host waits in STARTING while
the server installs it (from --spark-archive-url, else from PyPI), with the
S3A connector for its Hadoop (from --maven-url), saying so in its state
change reason; clusters of one release share one install.

An S3-compatible store (versitygw) runs beside the server on --s3-listen
(default: --listen's port + 2), with objects as plain files under
$HEARTH_HOME/s3/buckets. Clusters read and write s3:// in it (Spark, steps,
bootstrap actions, --log-uri); hearth s3 env prints the exports for the aws
CLI and boto3. --s3-endpoint points clusters at another store instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.metricsInterval < 0 || (o.metricsInterval > 0 && o.metricsInterval < time.Second) {
				return invalid(hearth.Invalid("--node-metrics-interval", o.metricsInterval.String(), "1s or more, or 0 to turn node metrics off"))
			}
			if _, err := o.poolSpecs(); err != nil {
				return invalid(err)
			}
			if o.heartbeatTimeout < 0 {
				return invalid(hearth.Invalid("--heartbeat-timeout", o.heartbeatTimeout.String(), "must be positive, e.g. 30s"))
			}
			log := newLogger(logLevel)
			if cmd.Flags().Changed("database") && hasPassword(o.database) {
				log.Warn("--database carries a password, which every user of this host can read in the process list: give it in $HEARTH_DATABASE, or without the password and keep that in ~/.pgpass (mode 0600)")
			}
			return runServer(cmd.Context(), o, log, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", o.listen, "address to serve on ($HEARTH_LISTEN)")
	f.StringVar(&o.database, "database", o.database, "the control plane's database: a postgres:// or postgresql:// URL (postgres://user@host:5432/hearth, the password in ~/.pgpass or in $HEARTH_DATABASE's URL, not on this command line) keeps it in PostgreSQL, where several servers are replicas of one control plane (one leads; all serve); anything else is the path of a SQLite file ($HEARTH_DATABASE; default: SQLite at $HEARTH_HOME/hearth.db)")
	f.Lookup("database").DefValue = "" // $HEARTH_DATABASE may hold a password: --help must not show it
	f.StringVar(&o.gatewayListen, "gateway-listen", o.gatewayListen, "address the UI gateway (the clusters' Spark UIs and JupyterLab) serves on, a separate origin from the console; port 0 picks a free one ($HEARTH_GATEWAY_LISTEN; default: --listen's port + 1, or a free port if that is taken)")
	f.StringVar(&o.sparkHome, "spark-home", o.sparkHome, "use this Spark distribution ($SPARK_HOME)")
	f.StringVar(&o.archiveURL, "spark-archive-url", o.archiveURL, "where to download Spark releases from ($HEARTH_SPARK_ARCHIVE)")
	f.StringVar(&o.pipIndexURL, "spark-pip-index-url", o.pipIndexURL, "package index for the PyPI fallback (pip install pyspark==<v>) when the archive fails; \"none\" turns the fallback off ($HEARTH_SPARK_PIP_INDEX_URL; default: pip's own)")
	f.DurationVar(&o.metricsInterval, "node-metrics-interval", control.DefaultMetricsInterval, "how often agents sample their nodes' CPU, memory, disk, network and JVM heaps for the console, `hearth top` and /metrics; 0 turns it off")
	f.DurationVar(&o.heartbeatTimeout, "heartbeat-timeout", 30*time.Second, "a node whose agent is silent this long (counted from its launch) has failed")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.region, "region", o.region, "the AWS region the EMR endpoint answers as (signatures must be scoped to it) ($HEARTH_REGION)")
	f.StringVar(&o.s3Listen, "s3-listen", o.s3Listen, "address the built-in S3 store serves on; \"none\" runs no store ($HEARTH_S3_LISTEN; default: --listen's port + 2, or a free port if that is taken)")
	f.StringVar(&o.s3Endpoint, "s3-endpoint", o.s3Endpoint, "use this S3 store (e.g. https://s3.eu-west-1.amazonaws.com or another S3-compatible store) instead of the built-in one; its key comes from $HEARTH_S3_ACCESS_KEY_ID and $HEARTH_S3_SECRET_ACCESS_KEY ($HEARTH_S3_ENDPOINT)")
	f.StringVar(&o.s3Region, "s3-region", o.s3Region, "the region of the --s3-endpoint store ($HEARTH_S3_REGION; default: --region)")
	f.StringVar(&o.mavenURL, "maven-url", o.mavenURL, "Maven repository the S3A connector (hadoop-aws and the AWS SDK, SHA-256 pinned) is fetched from with each Spark runtime; \"none\" runs clusters without s3:// in Spark ($HEARTH_MAVEN_URL)")
	f.StringVar(&o.cdsCache, "cds-cache", o.cdsCache, "directory of the class-data archives Spark daemons start from (built once per Spark and Java, in the background); \"none\" turns class-data sharing off ($HEARTH_CDS_CACHE; default: $HEARTH_HOME/runtime/cds)")
	f.StringVar(&o.advertiseURL, "advertise-url", o.advertiseURL, "https://HOST:PORT where agents on other machines (the ssh provisioner's hosts) reach this server; it serves them there over TLS with a certificate from its own CA ($HEARTH_HOME/tls), which they pin ($HEARTH_ADVERTISE_URL; default: none, and ssh clusters are refused)")
	f.StringVar(&o.agentListen, "agent-listen", o.agentListen, "address the agents' TLS listener binds ($HEARTH_AGENT_LISTEN; default: --advertise-url's host and port)")
	f.StringVar(&o.provisioner, "provisioner", o.provisioner, "provisioner of clusters that name none: local, ssh or ec2 ($HEARTH_PROVISIONER); EMR API callers choose with the tag hearth:provisioner")
	addEC2Flags(f, &o.ec2)
	f.StringArrayVar(&o.warmPool, "warm-pool", o.warmPool, "keep N idle single-node "+control.PoolInstanceType+" clusters of the default release ready (N), or of a release (RELEASE=N; repeat for several); hearth run and create-cluster of that shape without bootstrap actions adopt one at once, and the pool refills in the background where the host has room ($HEARTH_WARM_POOL; default: none)")
	f.StringVar(&o.jarCache, "jar-cache", o.jarCache, "directory the S3A connector's jars are kept in ($HEARTH_JAR_CACHE; default: $HEARTH_HOME/runtime/maven)")
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// listenGateway listens on addr, or by default on the console's host with
// the next port, or a free port if that one is taken.
func listenGateway(addr string, console *net.TCPAddr) (net.Listener, error) {
	if addr != "" {
		return net.Listen("tcp", addr)
	}
	host := ""
	if !console.IP.IsUnspecified() {
		host = console.IP.String()
	}
	if ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(console.Port+1))); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}

// runServer serves until ctx ends. ready, if set, receives the bound address.
func runServer(ctx context.Context, o serverOptions, log *slog.Logger, ready chan<- string) error {
	home := o.home
	if err := secureHome(home, log); err != nil {
		return err
	}
	token, created, err := adminToken(home)
	if err != nil {
		return err
	}
	masterKey, err := secretFile(filepath.Join(home, "master.key"), func() string { return hearth.NewSecret("") })
	if err != nil {
		return err
	}
	if created {
		log.Info("admin credential written", "path", filepath.Join(home, "admin.token"))
	}
	var store hearth.Store
	switch db := o.database; {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		var pg *postgres.Store
		if pg, err = postgres.Open(ctx, db); err == nil {
			if err = checkShared(ctx, pg, home, token, masterKey); err != nil {
				pg.Close()
			}
			store = pg
		}
	case strings.Contains(db, "://"):
		return hearth.Invalid("--database", db[:strings.Index(db, "://")+3], "must be a postgres:// or postgresql:// URL, or the path of a SQLite file")
	case db == "":
		store, err = sqlite.Open(ctx, filepath.Join(home, "hearth.db"))
	default:
		store, err = sqlite.Open(ctx, db)
	}
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("%w: listen on %s: %v (is another hearth server running? choose another with --listen)", hearth.ErrUnavailable, o.listen, err)
	}
	defer ln.Close()
	gln, err := listenGateway(o.gatewayListen, ln.Addr().(*net.TCPAddr))
	if err != nil {
		return fmt.Errorf("%w: listen on %s for the UI gateway: %v (is another hearth server running? choose another with --gateway-listen)", hearth.ErrUnavailable, o.gatewayListen, err)
	}
	defer gln.Close()
	url := "http://" + ln.Addr().String()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s3, s3proc, err := startObjectStore(runCtx, o, ln.Addr().(*net.TCPAddr), log)
	if err != nil {
		return err
	}
	if _, replicated := store.(hearth.ReplicatedStore); replicated && s3proc != nil {
		log.Warn("this replica runs its own built-in S3 store: clusters it creates reach s3:// through it, and lose it if it stops; give every replica one store with --s3-endpoint, or run none with --s3-listen none")
	}
	agentLn, ca, err := listenAgents(o)
	if err != nil {
		return err
	}
	if agentLn != nil {
		defer agentLn.Close()
	}
	sshProv := &sshprov.Provisioner{Store: store, ServerURL: o.advertiseURL, CAPEM: ca.CertPEM, Logger: log}
	ec2Cfg := o.ec2
	ec2Cfg.Owner = ca.Fingerprint()[:len("SHA256:")+16] // this control plane, as long as its home lives
	ec2Prov := &ec2prov.Provisioner{Cfg: ec2Cfg, Store: store, ServerURL: o.advertiseURL, CAPEM: ca.CertPEM, Logger: log}
	pool, err := o.poolSpecs()
	if err != nil {
		return err
	}
	cp := control.New(control.Config{
		Store:              store,
		Provisioners:       []hearth.Provisioner{&local.Provisioner{Home: home}, sshProv, ec2Prov},
		DefaultProvisioner: o.provisioner,
		BundleDir:          filepath.Join(home, "runtime", "bundles"),
		ProbeHost:          sshprov.Probe,
		Locator:            o.locator(log),
		LogDir:             filepath.Join(home, "logs"),
		MasterKey:          masterKey,
		URL:                url,
		Logger:             log,
		HeartbeatTimeout:   o.heartbeatTimeout,
		MetricsInterval:    metricsInterval(o.metricsInterval),
		S3:                 s3,
		CDSDir:             o.cdsDir(),
		CDSReadOnly:        o.cdsReadOnly,
		WarmPool:           pool,
		AgentURL:           o.advertiseURL,
	})
	if s3proc != nil {
		go syncStoreAccounts(runCtx, cp, s3proc, *s3, log)
	}
	// Two origins: the API's and the console's routes on one listener, the
	// UI gateway on its own.
	apiSrv := api.New(cp, token, o.region, log)
	scrape, _, err := readOrCreate(filepath.Join(home, "metrics.token"), func() string { return hearth.NewSecret("hmt_") })
	if err != nil {
		return err
	}
	apiSrv.AcceptScrapeToken(scrape)
	console := web.New(web.Config{
		Control: cp, API: apiSrv, Logger: log,
		ConsolePort: ln.Addr().(*net.TCPAddr).Port, GatewayPort: gln.Addr().(*net.TCPAddr).Port,
	})
	srv := newHTTPServer(console.Handler())
	gsrv := newHTTPServer(console.GatewayHandler())
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- gsrv.Serve(gln) }()
	var asrv *http.Server
	if agentLn != nil {
		asrv = newHTTPServer(apiSrv.AgentHandler())
		go func() { errc <- asrv.Serve(agentLn) }()
		log.Info("agents on other machines dial", "url", o.advertiseURL, "listen", agentLn.Addr().String(), "ca", ca.Fingerprint())
	}
	done := make(chan struct{})
	go func() { defer close(done); cp.Run(runCtx) }()
	s3URL := "none"
	if s3 != nil {
		s3URL = s3.Endpoint
	}
	log.Info("hearth server listening", "url", url, "gateway", "http://"+gln.Addr().String(), "s3", s3URL, "home", home)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	srv.Shutdown(shut)
	gsrv.Shutdown(shut)
	if asrv != nil {
		asrv.Shutdown(shut)
	}
	<-done
	if s3proc != nil {
		<-s3proc.Done() // nothing of the server outlives it
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// hasPassword reports whether a database URL carries a password.
func hasPassword(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	_, inUser := u.User.Password()
	return inUser || u.Query().Has("password")
}

// checkShared refuses to serve as a replica whose admin token or master key
// differs from the other replicas' on the database: a user's token would
// work on one replica and not another, and access keys sealed by one
// could not be read by another. The database keeps a digest of each.
func checkShared(ctx context.Context, store hearth.ReplicatedStore, home, token string, masterKey []byte) error {
	for _, f := range []struct{ name, value string }{{"admin.token", token}, {"master.key", string(masterKey)}} {
		sum := sha256.Sum256([]byte("hearth shared setting\x00" + f.name + "\x00" + f.value))
		if err := store.CheckShared(ctx, f.name, hex.EncodeToString(sum[:])); err != nil {
			if errors.Is(err, hearth.ErrConflict) {
				return fmt.Errorf("%w: %s differs from the one the other servers on this database use: replicas share it; copy %s from a running replica's $HEARTH_HOME into %s",
					hearth.ErrConflict, filepath.Join(home, f.name), f.name, home)
			}
			return err
		}
	}
	return nil
}

// listenAgents opens the TLS listener agents on other machines dial, when
// --advertise-url is set, with a certificate for its host from the
// server's own CA (made on first start). The CA is returned either way: the
// ssh provisioner hands its certificate to agents.
func listenAgents(o serverOptions) (net.Listener, *pki.Authority, error) {
	ca, err := pki.LoadOrCreate(filepath.Join(o.home, "tls"))
	if err != nil {
		return nil, nil, err
	}
	if o.advertiseURL == "" {
		return nil, ca, nil
	}
	u, err := url.Parse(o.advertiseURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return nil, nil, hearth.Invalid("--advertise-url", o.advertiseURL, "give https://HOST:PORT, the address and port agents on other machines reach this server at, e.g. https://10.0.0.5:8443")
	}
	cert, err := ca.ServerCertificate([]string{u.Hostname()})
	if err != nil {
		return nil, nil, err
	}
	addr := o.agentListen
	if addr == "" {
		addr = u.Host
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: listen on %s for agents: %v (choose another with --agent-listen)", hearth.ErrUnavailable, addr, err)
	}
	return ln, ca, nil
}

// HTTP timeouts: a client that trickles a request, or never reads its
// answer, cannot hold a connection open. The longest handlers are
// long-polls of 25 s; the gateway lifts the write deadline for the
// WebSockets and downloads it proxies.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = time.Minute
	httpWriteTimeout      = 2 * time.Minute
	httpIdleTimeout       = 2 * time.Minute
)

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
		WriteTimeout: httpWriteTimeout, IdleTimeout: httpIdleTimeout}
}

// startObjectStore sets up the store clusters use for s3:// URIs: the one
// --s3-endpoint names, or the built-in one, started as a child process that
// lives as long as ctx. It returns nil when there is none (--s3-listen none).
func startObjectStore(ctx context.Context, o serverOptions, console *net.TCPAddr, log *slog.Logger) (*hearth.S3Access, *s3store.Process, error) {
	region := o.s3Region
	if region == "" {
		region = o.region
	}
	if o.s3Endpoint != "" {
		return &hearth.S3Access{Endpoint: o.s3Endpoint, Region: region,
			AccessKeyId: os.Getenv("HEARTH_S3_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("HEARTH_S3_SECRET_ACCESS_KEY")}, nil, nil
	}
	if o.s3Listen == "none" {
		return nil, nil, nil
	}
	addr, err := storeAddress(o.s3Listen, console)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: listen on %s for the S3 store: %v (choose another with --s3-listen)", hearth.ErrUnavailable, o.s3Listen, err)
	}
	// The key clusters get, and hearth s3 env prints: kept like the other
	// credentials, in a file only the server's user can read.
	pair, _, err := readOrCreate(filepath.Join(o.home, "s3.key"), func() string {
		return hearth.NewAccessKeyID() + ":" + hearth.NewSecretAccessKey()
	})
	if err != nil {
		return nil, nil, err
	}
	id, secret, ok := strings.Cut(pair, ":")
	if !ok || id == "" || secret == "" {
		return nil, nil, fmt.Errorf("%s: not <access key id>:<secret>; remove it and start the server again to make a new one", filepath.Join(o.home, "s3.key"))
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	// The store's root key never leaves this process and the store's.
	root := s3store.Account{AccessKeyID: hearth.NewAccessKeyID(), SecretAccessKey: hearth.NewSecretAccessKey()}
	proc, err := s3store.Start(ctx, exe, s3store.Config{Dir: filepath.Join(o.home, "s3"), Listen: addr, Region: region},
		root, []s3store.Account{{AccessKeyID: id, SecretAccessKey: secret}}, filepath.Join(o.home, "logs", "s3-store.log"), log)
	if err != nil {
		return nil, nil, err
	}
	return &hearth.S3Access{Endpoint: proc.Endpoint, Region: region, AccessKeyId: id, SecretAccessKey: secret}, proc, nil
}

// storeAddress is where the built-in store listens: addr, or by default
// the console's host with its port + 2, or a free port if that is taken.
func storeAddress(addr string, console *net.TCPAddr) (string, error) {
	host := "127.0.0.1"
	if !console.IP.IsUnspecified() {
		host = console.IP.String()
	}
	if addr == "" {
		addr = net.JoinHostPort(host, strconv.Itoa(console.Port+2))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr, nil
		}
		addr = net.JoinHostPort(host, "0")
	}
	// The store binds it right after; a port 0 becomes a real one. A store
	// of a server that just died may hold it for a moment.
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			defer ln.Close()
			return ln.Addr().String(), nil
		}
		if time.Now().After(wait) {
			return "", err
		}
	}
}

// syncStoreAccounts keeps the built-in store accepting every Hearth access
// key as well as the clusters' key, so one aws profile drives `aws emr` and
// `aws s3`. It polls: a key created or deleted by any means shows up within
// two seconds.
func syncStoreAccounts(ctx context.Context, cp *control.Server, proc *s3store.Process, own hearth.S3Access, log *slog.Logger) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	secrets := map[string]string{} // a key's secret never changes: unseal each once
	for {
		accounts := []s3store.Account{{AccessKeyID: own.AccessKeyId, SecretAccessKey: own.SecretAccessKey}}
		keys, err := cp.ListAccessKeys(ctx)
		for _, k := range keys {
			secret, ok := secrets[k.AccessKeyId]
			if !ok {
				var serr error
				if secret, serr = cp.SecretFor(ctx, k.AccessKeyId); serr != nil {
					continue // deleted since the listing
				}
				secrets[k.AccessKeyId] = secret
			}
			accounts = append(accounts, s3store.Account{AccessKeyID: k.AccessKeyId, SecretAccessKey: secret})
		}
		if err == nil {
			if err := proc.SetAccounts(accounts); err != nil {
				log.Warn("update the S3 store's accounts", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// metricsInterval is the control plane's setting for --node-metrics-interval:
// 0 (off) becomes negative there, where 0 means the default.
func metricsInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// poolSpecs parses --warm-pool.
func (o serverOptions) poolSpecs() ([]control.PoolSpec, error) {
	var out []control.PoolSpec
	for _, v := range o.warmPool {
		sp, err := control.ParsePoolSpec(v)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}
