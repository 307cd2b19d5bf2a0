package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/store"
)

// mailSender builds the transport the configuration asks for.
func mailSender(cfg *config.Config) (mail.Sender, error) {
	if err := mail.SetMessageIDDomain(cfg.Mail.From); err != nil {
		return nil, err
	}
	if cfg.Mail.Transport == "sink" {
		return mail.SinkSender{Dir: cfg.Mail.SinkDir, From: cfg.Mail.From, FromName: cfg.Mail.FromName}, nil
	}
	s := cfg.Mail.SMTP
	var tlsCfg *tls.Config
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mail.smtp.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mail.smtp.ca_file: %s holds no PEM certificate", s.CAFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	return mail.NewSMTPSender(mail.SMTPConfig{Host: s.Host, Port: s.Port, Security: s.Security,
		Username: s.Username, Password: s.Password.Value(), Timeout: s.Timeout.Duration, TLSConfig: tlsCfg,
		From: cfg.Mail.From, FromName: cfg.Mail.FromName})
}

// startWorkers starts the background jobs; they stop when ctx ends.
func startWorkers(ctx context.Context, cfg *config.Config, s *store.Store, sender mail.Sender, log *slog.Logger, wg *sync.WaitGroup) *mail.Worker {
	w := &mail.Worker{Store: s, Sender: sender, Interval: cfg.Mail.Interval.Duration, Logger: log}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx)
	}()
	d := digestWorker(cfg, s, w.Wake)
	d.Logger = log
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.Run(ctx)
	}()
	return w
}

// blobSweepAge is how old a leftover of an interrupted upload must be
// before it is removed: longer than any upload can last (a 2 GiB file over
// a slow line), and than the clock skew between Sceau and an S3 store.
const blobSweepAge = 24 * time.Hour

// startBlobSweeper removes, every hour, what interrupted uploads left in
// blob storage (temporary files, incomplete multipart uploads). Every
// instance may run it: removing is idempotent.
func startBlobSweeper(ctx context.Context, b blobs.Store, log *slog.Logger, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := b.Sweep(ctx, blobSweepAge); err != nil && ctx.Err() == nil {
				log.Warn("sweeping blob storage", "err", err)
			} else if n > 0 {
				log.Info("blob storage swept", "removed", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// sinkMailbox shows the development mail sink on /dev/mail.
type sinkMailbox struct{ dir string }

func (m sinkMailbox) List() ([]portal.MailboxEntry, error) {
	list, err := mail.ListSink(m.dir)
	if err != nil {
		return nil, err
	}
	out := make([]portal.MailboxEntry, 0, len(list))
	for _, e := range list {
		out = append(out, portal.MailboxEntry{Name: e.Name, To: e.To, Subject: e.Subject, Date: e.Date})
	}
	return out, nil
}

func (m sinkMailbox) Read(name string) (portal.MailboxEntry, error) {
	e, err := mail.ReadSink(m.dir, name)
	if err != nil {
		return portal.MailboxEntry{}, portal.ErrNoSuchMail
	}
	return portal.MailboxEntry{Name: e.Name, To: e.To, Subject: e.Subject, Text: e.Text, Date: e.Date}, nil
}

// mailbox exposes the development mail sink to the /dev/mail page.
func mailbox(cfg *config.Config) portal.Mailbox {
	if cfg.Mail.Transport != "sink" || !cfg.Server.Development {
		return nil
	}
	return sinkMailbox{dir: cfg.Mail.SinkDir}
}
