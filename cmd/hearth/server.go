package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/provision/local"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
	"github.com/hearthcluster/hearth/web"
	"github.com/spf13/cobra"
)

// serverOptions configure a control plane; defaultServerOptions fills them
// from the environment, and `hearth server`'s flags override them.
type serverOptions struct {
	home, listen, region string
	// gatewayListen is the UI gateway's own address: a separate origin,
	// so that proxied pages cannot act as the console.
	gatewayListen         string
	sparkHome, archiveURL string
	// pipIndexURL is the index the PyPI fallback installs pyspark from;
	// "" means pip's own default, "none" turns the fallback off.
	pipIndexURL      string
	heartbeatTimeout time.Duration
}

func defaultServerOptions(g *globals) serverOptions {
	return serverOptions{
		home:          g.home,
		listen:        envOr("HEARTH_LISTEN", "127.0.0.1:8440"),
		gatewayListen: os.Getenv("HEARTH_GATEWAY_LISTEN"),
		region:        envOr("HEARTH_REGION", hearth.DefaultRegion),
		sparkHome:     os.Getenv("SPARK_HOME"),
		archiveURL:    envOr("HEARTH_SPARK_ARCHIVE", "https://archive.apache.org/dist/spark"),
		pipIndexURL:   os.Getenv("HEARTH_SPARK_PIP_INDEX_URL"),
	}
}

// locator is where the control plane finds and installs Spark runtimes.
func (o serverOptions) locator(log *slog.Logger) *spark.Locator {
	l := &spark.Locator{SparkHome: o.sparkHome, CacheDir: filepath.Join(o.home, "runtime"), ArchiveURL: o.archiveURL, Logger: log}
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
boto3 and the AWS SDKs: aws emr ... --endpoint-url http://127.0.0.1:8440. The database is
$HEARTH_HOME/hearth.db (SQLite). Clusters keep running when the server
stops; a restarted server finds them again.

Every cluster's Spark UIs (master, workers, applications, History Server,
JupyterLab) are served by the UI gateway on --gateway-listen, a separate
origin with its own session cookie, so a script in a proxied page cannot
act as the console. By default it is --listen's port + 1
(127.0.0.1:8441), or a free port if that one is taken (port 0: always a
free one); the startup log line says where it is. The console's links lead
there, and a logged-in browser gets in without logging in again. Browsers
reach both ports by the same host name.

A cluster whose Spark release is not on this host waits in STARTING while
the server installs it (from --spark-archive-url, else from PyPI), saying
so in its state change reason; clusters of one release share one install.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.heartbeatTimeout < 0 {
				return invalid(hearth.Invalid("--heartbeat-timeout", o.heartbeatTimeout.String(), "must be positive, e.g. 30s"))
			}
			return runServer(cmd.Context(), o, newLogger(logLevel), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", o.listen, "address to serve on ($HEARTH_LISTEN)")
	f.StringVar(&o.gatewayListen, "gateway-listen", o.gatewayListen, "address the UI gateway (the clusters' Spark UIs and JupyterLab) serves on, a separate origin from the console; port 0 picks a free one ($HEARTH_GATEWAY_LISTEN; default: --listen's port + 1, or a free port if that is taken)")
	f.StringVar(&o.sparkHome, "spark-home", o.sparkHome, "use this Spark distribution ($SPARK_HOME)")
	f.StringVar(&o.archiveURL, "spark-archive-url", o.archiveURL, "where to download Spark releases from ($HEARTH_SPARK_ARCHIVE)")
	f.StringVar(&o.pipIndexURL, "spark-pip-index-url", o.pipIndexURL, "package index for the PyPI fallback (pip install pyspark==<v>) when the archive fails; \"none\" turns the fallback off ($HEARTH_SPARK_PIP_INDEX_URL; default: pip's own)")
	f.DurationVar(&o.heartbeatTimeout, "heartbeat-timeout", 30*time.Second, "a node whose agent is silent this long (counted from its launch) has failed")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.region, "region", o.region, "the AWS region the EMR endpoint answers as (signatures must be scoped to it) ($HEARTH_REGION)")
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
	store, err := sqlite.Open(ctx, filepath.Join(home, "hearth.db"))
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
	cp := control.New(control.Config{
		Store:            store,
		Provisioners:     []hearth.Provisioner{&local.Provisioner{Home: home}},
		Locator:          o.locator(log),
		LogDir:           filepath.Join(home, "logs"),
		MasterKey:        masterKey,
		URL:              url,
		Logger:           log,
		HeartbeatTimeout: o.heartbeatTimeout,
	})
	// Two origins: the API's and the console's routes on one listener, the
	// UI gateway on its own.
	console := web.New(web.Config{
		Control: cp, API: api.New(cp, token, o.region, log), Logger: log,
		ConsolePort: ln.Addr().(*net.TCPAddr).Port, GatewayPort: gln.Addr().(*net.TCPAddr).Port,
	})
	srv := newHTTPServer(console.Handler())
	gsrv := newHTTPServer(console.GatewayHandler())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	go func() { errc <- gsrv.Serve(gln) }()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); cp.Run(runCtx) }()
	log.Info("hearth server listening", "url", url, "gateway", "http://"+gln.Addr().String(), "home", home)
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
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
