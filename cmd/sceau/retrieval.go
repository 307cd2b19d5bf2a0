package main

import (
	"context"
	"crypto/x509"
	"log/slog"
	"math/big"
	"strconv"
	"sync"
	"time"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

// counterConfig translates the configuration for the portal.
func counterConfig(cfg *config.Config, log *slog.Logger) portal.CounterConfig {
	r := cfg.Retrieval
	cc := portal.CounterConfig{DefaultValidityDays: cfg.CA.DefaultValidityDays, MaxValidityDays: cfg.CA.MaxValidityDays,
		DefaultLinkDays: r.LinkDays, MaxLinkDays: r.MaxLinkDays, MaxDownloads: r.MaxDownloads,
		CodeAttempts: r.CodeAttempts, AddressAttempts: r.AddressAttempts}
	if r.SMS == "log" {
		cc.SMS = logSMS{log}
	}
	return cc
}

// logSMS is the development SMS sender: the text goes to the log. It is
// the only place a collection code is ever logged, and only when the
// operator asked for it (retrieval.sms = "log").
type logSMS struct{ log *slog.Logger }

func (l logSMS) Send(_ context.Context, phone, text string) error {
	l.log.Warn("development SMS (retrieval.sms = log)", "to", phone, "text", text)
	return nil
}

// collector makes litigant certificates at the counter.
func collector(cfg *config.Config, db lazyAccounts, pki *pkiHolder, log *slog.Logger) (*retrieval.Collector, error) {
	kt, err := retrieval.ParseKeyType(cfg.Retrieval.KeyType)
	if err != nil {
		return nil, err
	}
	return &retrieval.Collector{Store: db, CA: litigantCA{pki}, KeyType: kt, Log: log}, nil
}

// litigantCA is the embedded CA as the counter sees it.
type litigantCA struct{ pki *pkiHolder }

func (l litigantCA) IssueLitigant(ctx context.Context, csr *x509.CertificateRequest, r retrieval.Request) ([]*x509.Certificate, error) {
	c, err := l.pki.get()
	if err != nil {
		return nil, err
	}
	issued, err := c.IssueClient(ctx, csr, ca.ClientRequest{Name: r.Name, Email: r.Email, CaseRef: r.CaseRef,
		ParticipantID: r.ParticipantID, Validity: r.Validity})
	if err != nil {
		return nil, err
	}
	return issued.Chain, nil
}

func (l litigantCA) Revoke(ctx context.Context, serial *big.Int, reason int) error {
	c, err := l.pki.get()
	if err != nil {
		return err
	}
	return c.Revoke(ctx, serial, ca.Reason(reason))
}

// Orders, for the portal and the collector.

func (l lazyAccounts) CreateOrder(ctx context.Context, actor int64, o *model.CertificateOrder, render model.OrderMail) (*model.CertificateOrder, bool, error) {
	var again bool
	out, err := with(l, func(s *store.Store) (out *model.CertificateOrder, err error) {
		out, again, err = s.CreateOrder(ctx, actor, o, render)
		return
	})
	return out, again, err
}

func (l lazyAccounts) OrderByToken(ctx context.Context, hash string) (*model.OrderView, error) {
	return with(l, func(s *store.Store) (*model.OrderView, error) { return s.OrderByToken(ctx, hash) })
}

func (l lazyAccounts) VerifyCode(ctx context.Context, hash, addr string, at time.Time, lim model.CodeLimits, match func(*model.CertificateOrder) bool) (*model.CertificateOrder, error) {
	return with(l, func(s *store.Store) (*model.CertificateOrder, error) {
		return s.VerifyCode(ctx, hash, addr, at, lim, match)
	})
}

func (l lazyAccounts) OrderStatuses(ctx context.Context, caseID, actor int64) (map[int64]*model.OrderStatus, error) {
	return with(l, func(s *store.Store) (map[int64]*model.OrderStatus, error) { return s.OrderStatuses(ctx, caseID, actor) })
}

func (l lazyAccounts) CancelOrders(ctx context.Context, caseID, actor, pid int64) (int64, error) {
	return with(l, func(s *store.Store) (int64, error) { return s.CancelOrders(ctx, caseID, actor, pid) })
}

func (l lazyAccounts) RearmOrder(ctx context.Context, caseID, actor, pid int64) error {
	return do(l, func(s *store.Store) error { return s.RearmOrder(ctx, caseID, actor, pid) })
}

func (l lazyAccounts) DeclareLost(ctx context.Context, accountID int64, render model.LostMail) (int, error) {
	return with(l, func(s *store.Store) (int, error) { return s.DeclareLost(ctx, accountID, render) })
}

func (l lazyAccounts) ClaimCollection(ctx context.Context, orderID int64, claim string, at, until time.Time) error {
	return do(l, func(s *store.Store) error { return s.ClaimCollection(ctx, orderID, claim, at, until) })
}

func (l lazyAccounts) ReleaseCollection(ctx context.Context, orderID int64, claim string) error {
	return do(l, func(s *store.Store) error { return s.ReleaseCollection(ctx, orderID, claim) })
}

func (l lazyAccounts) CompleteCollection(ctx context.Context, col *model.Collection, render model.CollectionMail) (*model.Account, error) {
	return with(l, func(s *store.Store) (*model.Account, error) { return s.CompleteCollection(ctx, col, render) })
}

// certificateWorker revokes at the CA the litigant certificates marked
// for revocation (by the expert, by the person, or automatically when a
// participant is removed or a case closes), retrying until it succeeds,
// and sends expiry warnings. Every instance may run it: revoking is
// idempotent and each warning is claimed by a conditional UPDATE.
type certificateWorker struct {
	Store    *store.Store
	CA       litigantCA
	Policy   model.RevocationPolicy
	Warn     time.Duration // how long before expiry
	Render   model.ExpiryMail
	Wake     <-chan struct{}
	Interval time.Duration
	Log      *slog.Logger
	Now      func() time.Time
	// lastWarn throttles the expiry scan to once an hour.
	lastWarn time.Time
}

func (w *certificateWorker) Run(ctx context.Context) {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.Wake:
		}
	}
}

func (w *certificateWorker) once(ctx context.Context) {
	if err := w.Store.MarkAutomaticRevocations(ctx, w.Policy); err != nil && ctx.Err() == nil {
		w.Log.Error("marking automatic revocations", "err", err)
		return
	}
	due, err := w.Store.DueRevocations(ctx, 200)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Error("listing due revocations", "err", err)
		}
		return
	}
	for _, c := range due {
		serial, ok := new(big.Int).SetString(c.Serial, 10)
		if !ok {
			w.Log.Error("collected certificate with an unreadable serial", "id", c.ID)
			continue
		}
		if err := w.CA.Revoke(ctx, serial, c.RevokeReason); err != nil {
			w.Log.Error("revoking a litigant certificate", "serial", c.Serial, "err", err)
			continue
		}
		if err := w.Store.MarkRevoked(ctx, c.ID, w.Now()); err != nil {
			w.Log.Error("recording a revocation", "serial", c.Serial, "err", err)
			continue
		}
		w.Log.Info("litigant certificate revoked", "serial", c.Serial, "reason", ca.Reason(c.RevokeReason).String())
	}
	if now := w.Now(); now.Sub(w.lastWarn) >= time.Hour {
		// The per-address window is an hour: a day of history is plenty.
		if _, err := w.Store.PurgeCounterFailures(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			w.Log.Error("purging the counter's wrong codes", "err", err)
		}
		n, err := w.Store.WarnExpiring(ctx, now, now.Add(w.Warn), w.Render)
		if err != nil {
			if ctx.Err() == nil {
				w.Log.Error("expiry warnings", "err", err)
			}
			return
		}
		w.lastWarn = now
		if n > 0 {
			w.Log.Info("expiry warnings queued", "certificates", n)
		}
	}
}

// expiryMail renders the warnings to the person and to the expert.
func expiryMail(cfg *config.Config, tpl *templates.Set) model.ExpiryMail {
	return func(c *model.CollectedCertificate, o *model.CertificateOrder, cs *model.Case, expert, person *model.Account) ([]*model.OutboxMessage, error) {
		data := map[string]any{"Name": person.DisplayName, "Case": cs.Name, "Expert": expert.DisplayName, "ExpertEmail": expert.Email,
			"NotAfter": c.NotAfter.In(paris).Format("02/01/2006"),
			"Link":     cfg.Server.Portal.PublicURL + "/affaires/" + strconv.FormatInt(cs.ID, 10) + "/participants#certificats"}
		toPerson, err := mail.Compose(tpl, "order_expiry_person", person.Email, person.DisplayName, data)
		if err != nil {
			return nil, err
		}
		toExpert, err := mail.Compose(tpl, "order_expiry_expert", expert.Email, expert.DisplayName, data)
		if err != nil {
			return nil, err
		}
		return []*model.OutboxMessage{toPerson, toExpert}, nil
	}
}

// startCertificateWorker runs the certificate worker until ctx ends.
func startCertificateWorker(ctx context.Context, cfg *config.Config, s *store.Store, pki *pkiHolder, tpl *templates.Set, wake <-chan struct{}, log *slog.Logger, wg *sync.WaitGroup) {
	onRemoval, onClose := cfg.Retrieval.Revocation()
	w := &certificateWorker{Store: s, CA: litigantCA{pki}, Policy: model.RevocationPolicy{OnRemoval: onRemoval, OnClose: onClose},
		Warn: time.Duration(cfg.Retrieval.ExpiryWarningDays) * 24 * time.Hour, Render: expiryMail(cfg, tpl),
		Wake: wake, Interval: 30 * time.Second, Log: log, Now: time.Now}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx)
	}()
}

// paris is the time zone of dates in mails.
var paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()
