package main

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"sceau.fr/sceau/ca"
	"sceau.fr/sceau/ca/certfile"
	"sceau.fr/sceau/cmd/sceau/config"
	"sceau.fr/sceau/portal"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
	"sceau.fr/sceau/portal/store"
)

// caOptions translates the configuration for package ca.
func caOptions(cfg *config.Config, s *store.Store, log *slog.Logger) ca.Options {
	o := ca.Options{
		Dir: cfg.CA.Dir, Password: []byte(cfg.CA.KeyPassword.Value()), Store: s,
		CRLURL: cfg.CA.CRLURL, PolicyOIDs: cfg.CA.PolicyOIDs,
		DefaultValidity: time.Duration(cfg.CA.DefaultValidityDays) * 24 * time.Hour,
		MaxValidity:     time.Duration(cfg.CA.MaxValidityDays) * 24 * time.Hour,
		Logger:          log,
	}
	if cfg.CA.PKCS11URI != "" {
		o.PKCS11 = &ca.PKCS11{URI: cfg.CA.PKCS11URI, Key: cfg.CA.PKCS11Key}
	}
	return o
}

// openCA opens the CA on an open store.
func openCA(ctx context.Context, cfg *config.Config, s *store.Store, log *slog.Logger) (*ca.CA, error) {
	c, err := ca.Open(ctx, caOptions(cfg, s, log))
	if err != nil {
		return nil, err
	}
	for _, w := range c.ExpiryWarnings(time.Now()) {
		log.Warn(w)
	}
	return c, nil
}

// serverCerts serves the listeners' certificate. With source "files" it is
// ready at once; with source "ca" it becomes ready once the CA is open
// (the database must be up), and handshakes fail until then.
type serverCerts struct {
	files *certfile.Source
	ca    atomic.Pointer[ca.ServerCertificate]
	// cached is the CA-issued certificate saved by the previous run, served
	// until the CA is open, so TLS works while the database is still down.
	cached *tls.Certificate
}

var errNoServerCert = errors.New("server certificate not ready: waiting for the database and the CA")

func (s *serverCerts) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.files != nil {
		return s.files.GetCertificate(h)
	}
	if sc := s.ca.Load(); sc != nil {
		return sc.GetCertificate(h)
	}
	if s.cached != nil {
		return s.cached, nil
	}
	return nil, errNoServerCert
}

// pkiHolder answers /ca/roots.pem and /ca/crl once the CA is open.
type pkiHolder struct {
	mu sync.RWMutex
	ca *ca.CA
}

func (p *pkiHolder) set(c *ca.CA) {
	p.mu.Lock()
	p.ca = c
	p.mu.Unlock()
}

func (p *pkiHolder) get() (*ca.CA, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ca == nil {
		return nil, errors.New("certificate authority not ready")
	}
	return p.ca, nil
}

// RootsPEM is the root certificate relying parties and browsers trust.
func (p *pkiHolder) RootsPEM() ([]byte, error) {
	c, err := p.get()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Root().Raw}), nil
}

// CRL is the current revocation list (DER).
func (p *pkiHolder) CRL(ctx context.Context) ([]byte, error) {
	c, err := p.get()
	if err != nil {
		return nil, err
	}
	return c.CRL(ctx)
}

// lazyAccounts answers for the store once the database is open; until
// then every call fails with errNotReady (the portal answers 503).
type lazyAccounts struct{ db *atomic.Pointer[store.Store] }

var errNotReady = errors.New("database not ready")

// with calls f on the store, or fails while the database is not open.
func with[T any](l lazyAccounts, f func(*store.Store) (T, error)) (T, error) {
	if s := l.db.Load(); s != nil {
		return f(s)
	}
	var zero T
	return zero, errNotReady
}

func do(l lazyAccounts, f func(*store.Store) error) error {
	_, err := with(l, func(s *store.Store) (struct{}, error) { return struct{}{}, f(s) })
	return err
}

func (l lazyAccounts) AccountByFingerprint(ctx context.Context, fp string) (*model.Account, *model.AccountCertificate, error) {
	var c *model.AccountCertificate
	a, err := with(l, func(s *store.Store) (a *model.Account, err error) {
		a, c, err = s.AccountByFingerprint(ctx, fp)
		return
	})
	return a, c, err
}

func (l lazyAccounts) Register(ctx context.Context, a *model.Account, c *model.AccountCertificate) (*model.Account, bool, error) {
	var created bool
	acc, err := with(l, func(s *store.Store) (acc *model.Account, err error) {
		acc, created, err = s.Register(ctx, a, c)
		return
	})
	return acc, created, err
}

func (l lazyAccounts) RecordLogin(ctx context.Context, login *model.Login) error {
	return do(l, func(s *store.Store) error { return s.RecordLogin(ctx, login) })
}

func (l lazyAccounts) AcceptTerms(ctx context.Context, id int64, version string) error {
	return do(l, func(s *store.Store) error { return s.AcceptTerms(ctx, id, version) })
}

func (l lazyAccounts) AccountCertificates(ctx context.Context, id int64) ([]model.AccountCertificate, error) {
	return with(l, func(s *store.Store) ([]model.AccountCertificate, error) { return s.AccountCertificates(ctx, id) })
}

func (l lazyAccounts) CertificateByFingerprint(ctx context.Context, fp string) (*model.AccountCertificate, error) {
	return with(l, func(s *store.Store) (*model.AccountCertificate, error) { return s.CertificateByFingerprint(ctx, fp) })
}

func (l lazyAccounts) RemoveCertificate(ctx context.Context, accountID, certID int64, now time.Time) error {
	return do(l, func(s *store.Store) error { return s.RemoveCertificate(ctx, accountID, certID, now) })
}

func (l lazyAccounts) CreateCertificateLink(ctx context.Context, link *model.CertificateLink, mail *model.OutboxMessage) error {
	return do(l, func(s *store.Store) error { return s.CreateCertificateLink(ctx, link, mail) })
}

func (l lazyAccounts) CertificateLinkAccount(ctx context.Context, hash string, now time.Time) (*model.Account, error) {
	return with(l, func(s *store.Store) (*model.Account, error) { return s.CertificateLinkAccount(ctx, hash, now) })
}

func (l lazyAccounts) UseCertificateLink(ctx context.Context, hash string, c *model.AccountCertificate, now time.Time) (*model.Account, error) {
	return with(l, func(s *store.Store) (*model.Account, error) { return s.UseCertificateLink(ctx, hash, c, now) })
}

func (l lazyAccounts) SearchDirectory(ctx context.Context, q model.DirectoryQuery) ([]model.Account, error) {
	return with(l, func(s *store.Store) ([]model.Account, error) { return s.SearchDirectory(ctx, q) })
}

func (l lazyAccounts) CasesFor(ctx context.Context, accountID int64) ([]model.Case, error) {
	return with(l, func(s *store.Store) ([]model.Case, error) { return s.CasesFor(ctx, accountID) })
}

func (l lazyAccounts) CreateCase(ctx context.Context, owner *model.Account, c *model.Case) (*model.Case, error) {
	return with(l, func(s *store.Store) (*model.Case, error) { return s.CreateCase(ctx, owner, c) })
}

func (l lazyAccounts) Case(ctx context.Context, caseID, accountID int64) (*model.Case, error) {
	return with(l, func(s *store.Store) (*model.Case, error) { return s.Case(ctx, caseID, accountID) })
}

func (l lazyAccounts) FoldersReadable(ctx context.Context, caseID, accountID int64) ([]model.Folder, error) {
	return with(l, func(s *store.Store) ([]model.Folder, error) { return s.FoldersReadable(ctx, caseID, accountID) })
}

func (l lazyAccounts) TransitionCaseAndNotify(ctx context.Context, caseID, actor int64, from, to rights.CaseState, n model.Notifier) (*model.Case, error) {
	return with(l, func(s *store.Store) (*model.Case, error) {
		return s.TransitionCaseAndNotify(ctx, caseID, actor, from, to, n)
	})
}

func (l lazyAccounts) Parties(ctx context.Context, caseID, accountID int64) ([]model.Party, error) {
	return with(l, func(s *store.Store) ([]model.Party, error) { return s.Parties(ctx, caseID, accountID) })
}

func (l lazyAccounts) Participants(ctx context.Context, caseID, accountID int64) ([]model.Participant, error) {
	return with(l, func(s *store.Store) ([]model.Participant, error) { return s.Participants(ctx, caseID, accountID) })
}

func (l lazyAccounts) AddParty(ctx context.Context, caseID, actor int64, p *model.Party) (*model.Party, error) {
	return with(l, func(s *store.Store) (*model.Party, error) { return s.AddParty(ctx, caseID, actor, p) })
}

func (l lazyAccounts) AddParticipant(ctx context.Context, caseID, actor int64, p *model.Participant) (*model.Participant, error) {
	return with(l, func(s *store.Store) (*model.Participant, error) { return s.AddParticipant(ctx, caseID, actor, p) })
}

func (l lazyAccounts) SetParticipantActive(ctx context.Context, caseID, actor, participantID int64, active bool) error {
	return do(l, func(s *store.Store) error { return s.SetParticipantActive(ctx, caseID, actor, participantID, active) })
}

func (l lazyAccounts) AddFolder(ctx context.Context, caseID, actor int64, f *model.Folder) (*model.Folder, error) {
	return with(l, func(s *store.Store) (*model.Folder, error) { return s.AddFolder(ctx, caseID, actor, f) })
}

func (l lazyAccounts) AccountByEmail(ctx context.Context, email string) (*model.Account, error) {
	return with(l, func(s *store.Store) (*model.Account, error) { return s.AccountByEmail(ctx, email) })
}

func (l lazyAccounts) CanDeposit(ctx context.Context, caseID, folderID, accountID int64) (bool, error) {
	return with(l, func(s *store.Store) (bool, error) { return s.CanDeposit(ctx, caseID, folderID, accountID) })
}

func (l lazyAccounts) FoldersDepositable(ctx context.Context, caseID, accountID int64) ([]int64, error) {
	return with(l, func(s *store.Store) ([]int64, error) { return s.FoldersDepositable(ctx, caseID, accountID) })
}

func (l lazyAccounts) CreateDocument(ctx context.Context, caseID, folderID, accountID int64, d *model.Document, commit func() error) (*model.Document, error) {
	return with(l, func(s *store.Store) (*model.Document, error) {
		return s.CreateDocument(ctx, caseID, folderID, accountID, d, commit)
	})
}

func (l lazyAccounts) DocumentsReadable(ctx context.Context, caseID, accountID int64) ([]portal.ListedDocument, error) {
	return with(l, func(s *store.Store) ([]portal.ListedDocument, error) {
		docs, err := s.DocumentsReadable(ctx, caseID, accountID)
		if err != nil {
			return nil, err
		}
		out := make([]portal.ListedDocument, len(docs))
		for i, d := range docs {
			out[i] = portal.ListedDocument{Document: d.Document, Unread: d.New()}
		}
		return out, nil
	})
}

func (l lazyAccounts) OpenDocument(ctx context.Context, caseID, docID, accountID int64) (*model.Document, error) {
	return with(l, func(s *store.Store) (*model.Document, error) { return s.OpenDocument(ctx, caseID, docID, accountID) })
}

func (l lazyAccounts) Receipt(ctx context.Context, caseID, docID, accountID int64) (*model.Receipt, error) {
	return with(l, func(s *store.Store) (*model.Receipt, error) { return s.Receipt(ctx, caseID, docID, accountID) })
}

func (l lazyAccounts) LockDocument(ctx context.Context, caseID, docID, actor int64, reason string) (*model.Document, error) {
	return with(l, func(s *store.Store) (*model.Document, error) {
		return s.LockDocument(ctx, caseID, docID, actor, reason)
	})
}

func (l lazyAccounts) Contradictoire(ctx context.Context, caseID, actor int64) ([]portal.ContradictoireEntry, error) {
	return with(l, func(s *store.Store) ([]portal.ContradictoireEntry, error) {
		entries, err := s.Contradictoire(ctx, caseID, actor)
		if err != nil {
			return nil, err
		}
		out := make([]portal.ContradictoireEntry, len(entries))
		for i, e := range entries {
			out[i].Document = e.Document
			for _, r := range e.Readers {
				out[i].Readers = append(out[i].Readers, portal.DocumentReader{ParticipantID: r.Participant.ID,
					AccountID: r.Participant.AccountID, Role: r.Participant.Role, FirstOpenedAt: r.FirstOpenedAt})
			}
		}
		return out, nil
	})
}

func (l lazyAccounts) RemindUnopened(ctx context.Context, caseID, docID, actor int64, render portal.Reminder) (int, error) {
	return with(l, func(s *store.Store) (int, error) {
		return s.RemindUnopened(ctx, caseID, docID, actor, store.Reminder(render))
	})
}

func (l lazyAccounts) UpdateCaseDetails(ctx context.Context, caseID, actor int64, name string, consignation *time.Time) (*model.Case, error) {
	return with(l, func(s *store.Store) (*model.Case, error) {
		return s.UpdateCaseDetails(ctx, caseID, actor, name, consignation)
	})
}
