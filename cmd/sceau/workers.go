package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

// startWorkers starts the background jobs; they stop when ctx ends.
func startWorkers(ctx context.Context, cfg *config.Config, s *store.Store, tpl *templates.Set, log *slog.Logger, reg *prometheus.Registry, wg *sync.WaitGroup) {
}

// mailbox exposes the development mail sink to the /dev/mail page.
func mailbox(cfg *config.Config) portal.Mailbox {
	return nil
}
