package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal/store"
)

// loadConfig reads the file named by --config with the process environment.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("--config is required: the sceau.toml written by `sceau init`")
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		var p config.Problems
		if errors.As(err, &p) {
			return nil, fmt.Errorf("invalid configuration %s:\n  %s", path, joinLines(p))
		}
		return nil, err
	}
	return cfg, nil
}

func joinLines(p config.Problems) string {
	s := ""
	for i, l := range p {
		if i > 0 {
			s += "\n  "
		}
		s += l
	}
	return s
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func storeOptions(cfg *config.Config) store.Options {
	o := store.Options{Driver: cfg.Database.Driver, MaxOpenConns: cfg.Database.MaxOpenConns}
	if cfg.Database.Driver == "sqlite" {
		o.DSN = store.SQLiteDSN(cfg.Database.Path)
	} else {
		o.DSN = cfg.Database.URL.Value()
	}
	return o
}

// connect opens the database, retrying with backoff while it is down
// (PostgreSQL restarting, say). attempts 0 means until ctx ends.
func connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, cfg.Database.ConnectTimeout.Duration)
		s, err := store.Open(cctx, storeOptions(cfg))
		cancel()
		if err == nil {
			if attempt > 1 {
				log.Info("database reachable again", "driver", cfg.Database.Driver, "attempts", attempt)
			}
			return s, nil
		}
		if max := cfg.Database.ConnectAttempts; max > 0 && attempt >= max {
			return nil, fmt.Errorf("database unreachable after %d attempts: %w", attempt, err)
		}
		log.Warn("database unreachable, retrying", "driver", cfg.Database.Driver, "attempt", attempt,
			"retry_in", delay.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// checkWritable fails clearly when a folder Sceau writes into cannot be
// written, instead of failing at the first deposit.
func checkWritable(what, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("%s folder %s cannot be created: %w", what, dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("%s folder %s is not writable: %w", what, dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func dataFolders(cfg *config.Config) map[string]string {
	m := map[string]string{}
	if cfg.Database.Driver == "sqlite" {
		m["database"] = filepath.Dir(cfg.Database.Path)
	}
	if cfg.Storage.Backend == "local" {
		m["storage"] = cfg.Storage.Path
	}
	if cfg.Mail.Transport == "sink" {
		m["mail sink"] = cfg.Mail.SinkDir
	}
	return m
}
