package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/ca/certfile"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

func newServeCommand() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the server: portal, counter and admin listeners",
		Long: `serve runs Sceau until SIGINT or SIGTERM, then lets requests in flight
finish (up to server.shutdown_timeout) before exiting.

Listeners:
  portal   case spaces; asks for a client certificate at the TLS handshake
  counter  certificate retrieval counter; never asks for a certificate
  admin    loopback only: /metrics (Prometheus), /healthz, /readyz

/healthz answers while the process runs; /readyz only once the database is
reachable. The embedded default (SQLite) migrates its schema at start; with
PostgreSQL an outdated schema stops serve: run "sceau migrate" first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// After the first signal, a second one stops the process at once.
			go func() { <-ctx.Done(); stop() }()
			return runServe(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (required)")
	return cmd
}

// runServe wires everything and serves until ctx ends. started, if not
// nil, receives the server once its listeners are bound (tests use it).
func runServe(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer, started func(*portal.Server)) error {
	log := newLogger(cfg.Log, stderr)
	folders := dataFolders(cfg)
	names := make([]string, 0, len(folders))
	for k := range folders {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, what := range names {
		if err := checkWritable(what, folders[what]); err != nil {
			return err
		}
	}
	tpl, err := templates.Load()
	if err != nil {
		return err
	}
	certs := &serverCerts{}
	if cfg.Server.TLS.Source == "files" {
		certs.files = &certfile.Source{CertFile: cfg.Server.TLS.CertFile, KeyFile: cfg.Server.TLS.KeyFile,
			OnError: func(err error) { log.Error("new server certificate rejected, keeping the previous one", "err", err) }}
		if err := certs.files.Load(); err != nil {
			return err
		}
	} else if cached, err := ca.LoadServerCertificate(cfg.CA.Dir, cfg.Server.TLS.Names); err == nil {
		certs.cached = cached
	}
	pki := &pkiHolder{}
	ctx, cancel := context.WithCancel(ctx)
	var workers sync.WaitGroup
	defer func() { cancel(); workers.Wait() }() // background jobs end with serve
	gate, err := buildGate(ctx, cfg, pki, log, &workers)
	if err != nil {
		return err
	}
	proxy, err := proxyExtractor(cfg)
	if err != nil {
		return fmt.Errorf("server.proxy: %w", err)
	}
	hints, err := clientCAHints(cfg)
	if err != nil {
		return err
	}
	sender, err := mailSender(cfg)
	if err != nil {
		return err
	}

	blobStore, err := openBlobs(cfg)
	if err != nil {
		return err
	}

	var db atomic.Pointer[store.Store]
	ready := func(ctx context.Context) error {
		s := db.Load()
		if s == nil {
			return errors.New("database not connected yet")
		}
		return s.Ping(ctx)
	}
	coll, err := collector(cfg, lazyAccounts{&db}, pki, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	srv, err := portal.New(portal.Config{
		PortalAddr: cfg.Server.Portal.Listen, CounterAddr: cfg.Server.Counter.Listen, AdminAddr: cfg.Server.Admin.Listen,
		PortalHost: cfg.Server.Portal.Host, CounterHost: cfg.Server.Counter.Host,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Duration, ReadTimeout: cfg.Server.ReadTimeout.Duration,
		WriteTimeout: cfg.Server.WriteTimeout.Duration, IdleTimeout: cfg.Server.IdleTimeout.Duration,
		ShutdownTimeout: cfg.Server.ShutdownTimeout.Duration, MaxHeaderBytes: cfg.Server.MaxHeaderBytes,
		MaxBodyBytes: cfg.Server.MaxBodyBytes, MaxUploadBytes: cfg.Server.MaxUploadBytes, Development: cfg.Server.Development,
		CounterURL: cfg.Server.Counter.PublicURL, PortalURL: cfg.Server.Portal.PublicURL,
		AccountCacheTTL: cfg.Server.AccountCache.Duration, Counter: counterConfig(cfg, log),
	}, portal.Deps{
		Logger: log, Templates: tpl, Certificate: certs.GetCertificate, ClientCAHints: hints,
		Ready: ready, Registry: reg, Mailbox: mailbox(cfg), PKI: pki, Gate: gate, ProxyCert: proxy,
		Accounts: lazyAccounts{&db}, Directory: lazyAccounts{&db}, Notifications: lazyAccounts{&db}, Search: lazyAccounts{&db}, Cases: lazyAccounts{&db}, Members: lazyAccounts{&db},
		Documents: lazyAccounts{&db}, Audit: lazyAccounts{&db}, Blobs: blobStore, SessionKey: []byte(cfg.Server.SessionKey.Value()),
		Orders: lazyAccounts{&db}, Collector: coll,
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(ctx)
		cancel() // a listener that died stops the database retries too
	}()
	if started != nil {
		started(srv)
	}
	fmt.Fprintf(stdout, "Sceau is running.\n  portal (with certificate):  %s\n  counter (no certificate):   %s\n  metrics:                    http://%s/metrics\n",
		cfg.Server.Portal.PublicURL, cfg.Server.Counter.PublicURL, srv.Addr("admin"))

	s, err := openSchema(ctx, cfg, log)
	if err != nil {
		cancel()
		serveErr := <-served
		if errors.Is(err, context.Canceled) {
			return serveErr
		}
		return err
	}
	defer s.Close()
	authority, err := openCA(ctx, cfg, s, log)
	if err != nil {
		cancel()
		<-served
		return err
	}
	defer authority.Close()
	if cfg.Server.TLS.Source == "ca" {
		sc, err := authority.ServerCertificate(ctx, cfg.Server.TLS.Names)
		if err != nil {
			cancel()
			<-served
			return fmt.Errorf("issuing the server certificate: %w", err)
		}
		certs.ca.Store(sc)
		workers.Add(1)
		go func() { defer workers.Done(); sc.Run(ctx) }()
	}
	pki.set(authority)
	workers.Add(1)
	go func() { defer workers.Done(); authority.Run(ctx) }()
	s.SetNoticeRenderers(noticeRenderers(cfg, tpl)) // before any deposit
	db.Store(s)
	log.Info("ready", "database", cfg.Database.Driver, "ca_key", authority.KeyLocation())

	startWorkers(ctx, cfg, s, sender, log, &workers)
	startCertificateWorker(ctx, cfg, s, pki, tpl, srv.RevocationWake(), log, &workers)
	startBlobSweeper(ctx, blobStore, log, &workers)
	err = <-served
	cancel()
	workers.Wait()
	return err
}

// openBlobs opens the storage of deposited files. An S3 bucket must
// exist and accept a probe object, or serve does not start (the checks
// give up after 30 seconds).
func openBlobs(cfg *config.Config) (blobs.Store, error) {
	switch cfg.Storage.Backend {
	case "local":
		return blobs.NewLocal(cfg.Storage.Path)
	case "s3":
		s3 := cfg.Storage.S3
		bc := blobs.S3Config{Endpoint: s3.Endpoint, Region: s3.Region, Bucket: s3.Bucket,
			AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey.Value(), CAFile: s3.CAFile}
		if s3.PathStyle {
			bc.PathStyle = &s3.PathStyle
		}
		st, err := blobs.NewS3(context.Background(), bc)
		if err != nil {
			return nil, fmt.Errorf("storage.s3: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("storage.backend %q is unknown", cfg.Storage.Backend)
}

// openSchema connects (retrying while the database is down), then makes
// sure the schema matches: SQLite migrates itself, PostgreSQL must have
// been migrated with `sceau migrate`.
func openSchema(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	s, err := connect(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Database.Driver == "sqlite" {
		applied, err := s.Migrate(ctx)
		for _, a := range applied {
			log.Info("migration applied", "migration", a.Name)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// clientCAHints gathers every trusted CA certificate, whose names the
// portal sends in its certificate request so browsers offer only
// certificates Sceau may accept: the trust domains' and Sceau's own CA.
func clientCAHints(cfg *config.Config) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, name := range []string{ca.RootCertFile, ca.IntermediateCertFile} {
		if pem, err := os.ReadFile(filepath.Join(cfg.CA.Dir, name)); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
	}
	for _, d := range cfg.Trust.Domains {
		for _, f := range d.CAFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("trust domain %s: %w", d.Name, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("trust domain %s: %s holds no PEM certificate", d.Name, f)
			}
		}
	}
	return pool, nil
}
