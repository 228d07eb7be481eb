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
	"time"

	"github.com/hearthcluster/hearth"
	"github.com/hearthcluster/hearth/api"
	"github.com/hearthcluster/hearth/control"
	"github.com/hearthcluster/hearth/provision/local"
	"github.com/hearthcluster/hearth/spark"
	"github.com/hearthcluster/hearth/store/sqlite"
	"github.com/spf13/cobra"
)

func newServerCmd(g *globals) *cobra.Command {
	var listen, sparkHome, archiveURL, logLevel string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API, agent endpoints, reconcilers)",
		Long: `Run Hearth's control plane on --listen (default 127.0.0.1:8440).

On first start it writes an admin credential to $HEARTH_HOME/admin.token
(mode 0600); every API call must present it. The database is
$HEARTH_HOME/hearth.db (SQLite). Clusters keep running when the server
stops; a restarted server finds them again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(logLevel)
			return runServer(cmd.Context(), g.home, listen, sparkHome, archiveURL, log, nil)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", envOr("HEARTH_LISTEN", "127.0.0.1:8440"), "address to serve on ($HEARTH_LISTEN)")
	cmd.Flags().StringVar(&sparkHome, "spark-home", os.Getenv("SPARK_HOME"), "use this Spark distribution ($SPARK_HOME)")
	cmd.Flags().StringVar(&archiveURL, "spark-archive-url", envOr("HEARTH_SPARK_ARCHIVE", "https://archive.apache.org/dist/spark"), "where to download Spark releases from")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// runServer serves until ctx ends. ready, if set, receives the bound address.
func runServer(ctx context.Context, home, listen, sparkHome, archiveURL string, log *slog.Logger, ready chan<- string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	token, created, err := adminToken(home)
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

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("%w: listen on %s: %v (is another hearth server running? choose another with --listen)", hearth.ErrUnavailable, listen, err)
	}
	url := "http://" + ln.Addr().String()
	cp := control.New(control.Config{
		Store:        store,
		Provisioners: []hearth.Provisioner{&local.Provisioner{Home: home}},
		Locator:      &spark.Locator{SparkHome: sparkHome, CacheDir: filepath.Join(home, "runtime"), ArchiveURL: archiveURL, Logger: log},
		LogDir:       filepath.Join(home, "logs"),
		URL:          url,
		Logger:       log,
	})
	srv := &http.Server{Handler: api.New(cp, token, log).Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); cp.Run(runCtx) }()
	log.Info("hearth server listening", "url", url, "home", home)
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
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// adminToken reads the admin credential, creating it on first start.
func adminToken(home string) (token string, created bool, err error) {
	path := filepath.Join(home, "admin.token")
	if b, err := os.ReadFile(path); err == nil {
		return string(trimSpace(b)), false, nil
	}
	token = hearth.NewSecret("hat_")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if os.IsExist(err) { // another server won the race
			b, err := os.ReadFile(path)
			return string(trimSpace(b)), false, err
		}
		return "", false, err
	}
	defer f.Close()
	_, err = f.WriteString(token + "\n")
	return token, true, err
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
