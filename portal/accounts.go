package portal

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
)

// TermsVersion is the current version of the terms of use: an account
// that accepted an older one is asked again.
const TermsVersion = "2026-11"

// Accounts is what the portal needs from storage about accounts.
type Accounts interface {
	AccountByFingerprint(ctx context.Context, fingerprint string) (*model.Account, *model.AccountCertificate, error)
	Register(ctx context.Context, a *model.Account, c *model.AccountCertificate) (*model.Account, bool, error)
	RecordLogin(ctx context.Context, l *model.Login) error
	AcceptTerms(ctx context.Context, id int64, version string) error
	AccountCertificates(ctx context.Context, accountID int64) ([]model.AccountCertificate, error)
	CertificateByFingerprint(ctx context.Context, fingerprint string) (*model.AccountCertificate, error)
	RemoveCertificate(ctx context.Context, accountID, certID int64, now time.Time) error
	CreateCertificateLink(ctx context.Context, l *model.CertificateLink, mail *model.OutboxMessage) error
	CertificateLinkAccount(ctx context.Context, tokenHash string, now time.Time) (*model.Account, error)
	UseCertificateLink(ctx context.Context, tokenHash string, c *model.AccountCertificate, now time.Time) (*model.Account, error)
}

type accountKey struct{}

// AccountFrom returns the signed-in account.
func AccountFrom(ctx context.Context) *model.Account {
	a, _ := ctx.Value(accountKey{}).(*model.Account)
	return a
}

const sessionCookie = "sceau_session"

// mac signs a value with the server's session key.
func (s *Server) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.deps.SessionKey)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// csrfToken is bound to the certificate: a page of another site cannot
// read it, and it is worthless with another certificate.
func (s *Server) csrfToken(id *certgate.Identity) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", id.Fingerprint))
}

// checkCSRF refuses state-changing requests without the form token, or
// coming from another origin.
func (s *Server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
				s.renderError(w, r, http.StatusForbidden)
				return
			}
		}
		id := IdentityFrom(r.Context())
		got, err := base64.RawURLEncoding.DecodeString(csrfOf(r))
		if id == nil || err != nil || !hmac.Equal(got, s.mac("csrf", id.Fingerprint)) {
			s.log.Warn("form refused: missing or wrong CSRF token", "request_id", RequestID(r.Context()))
			s.renderError(w, r, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAccount finds the account of the certificate. No account: a
// professional is sent to registration, anyone else is told their
// certificate is not linked to an account. A suspended account is refused;
// outdated terms are asked again. The session cookie is bound to the
// certificate: a cookie replayed with another certificate is not honoured
// and a new login is recorded.
func (s *Server) requireAccount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := IdentityFrom(r.Context())
		acc, err := s.accountOf(r, id.Fingerprint)
		if errors.Is(err, model.ErrNotFound) {
			if c, err := s.deps.Accounts.CertificateByFingerprint(r.Context(), id.Fingerprint); err == nil && c.RemovedAt != nil {
				s.recordGateRefusal(r, id.Issuer, id.Serial.String(), &c.AccountID, "certificat retiré")
				s.renderPage(w, r, http.StatusForbidden, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()),
					Code: "certificate-removed", Title: "Certificat retiré", Message: "Ce certificat a été retiré de votre compte le " + c.RemovedAt.In(paris).Format("02/01/2006") + " : il ne permet plus d’y accéder.",
					Todo: "Connectez-vous avec un autre de vos certificats. Si vous n’en avez plus, contactez l’administrateur de la plateforme."})
				return
			}
			if canRegister(id) {
				s.redirectBrowser(w, r, "/inscription")
				return
			}
			s.renderPage(w, r, http.StatusForbidden, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()),
				Code: "unknown-account", Title: "Compte inconnu", Message: "Votre certificat est valide, mais il n’est rattaché à aucun compte.",
				Todo: "Si l’expert vous a commandé un nouveau certificat, utilisez celui-là. Sinon, contactez l’expert qui conduit votre expertise."})
			return
		}
		if err != nil {
			s.log.Error("account lookup", "request_id", RequestID(r.Context()), "err", err)
			s.renderError(w, r, http.StatusServiceUnavailable)
			return
		}
		if acc.Suspended() {
			s.recordGateRefusal(r, id.Issuer, id.Serial.String(), &acc.ID, "compte suspendu")
			s.renderPage(w, r, http.StatusForbidden, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()),
				Code: "account-suspended", Title: "Compte suspendu", Message: "Votre compte a été suspendu : " + acc.SuspendedReason,
				Todo: "Contactez l’administrateur de la plateforme si vous pensez qu’il s’agit d’une erreur."})
			return
		}
		if !s.ensureSession(w, r, id, acc) {
			return
		}
		ctx := withActor(context.WithValue(r.Context(), accountKey{}, acc), r, nil, acc)
		if acc.TermsVersion != TermsVersion && r.URL.Path != "/conditions" {
			s.redirectBrowser(w, r, "/conditions")
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func canRegister(id *certgate.Identity) bool {
	return id.HasRole(model.RoleMagistrate) || id.HasRole(model.RoleClerk) || id.HasRole(model.RoleLawyer) || id.HasRole(model.RoleExpert)
}

// ensureSession records a login the first time a certificate is seen in
// this browser session. A login that cannot be recorded (with its audit
// entry) is refused with a 503: it reports false, having answered.
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request, id *certgate.Identity, acc *model.Account) bool {
	if isAPIRequest(r) && !s.apiLoginDue(id.Fingerprint) {
		return true // API clients keep no cookie: see apiLoginDue
	}
	want := hex.EncodeToString(s.mac("session", id.Fingerprint))
	if c, err := r.Cookie(sessionCookie); err == nil && hmac.Equal([]byte(c.Value), []byte(want)) {
		return true
	}
	err := s.deps.Accounts.RecordLogin(r.Context(), &model.Login{AccountID: acc.ID, Fingerprint: id.Fingerprint,
		Issuer: id.Issuer, Serial: id.Serial.String(), RemoteAddr: r.RemoteAddr})
	if err != nil {
		s.log.Error("recording a login", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return false
	}
	s.log.Info("login", "account", acc.ID, "serial", id.Serial.String(), "issuer", id.IssuerCommonName)
	if isAPIRequest(r) {
		s.apiLoginRecorded(id.Fingerprint)
	} else {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: want, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	}
	return true
}

type roleChoice struct{ Value, Label string }

var roleLabels = map[string]string{
	model.RoleMagistrate: "Magistrat", model.RoleClerk: "Greffier", model.RoleLawyer: "Avocat", model.RoleExpert: "Expert",
}

type registerPage struct {
	Lang, Authority, Domain, CSRF, TermsVersion string
	Roles                                       []roleChoice
	Form                                        model.Account
	Errors                                      model.ValidationErrors
	// TermsAccepted keeps the terms box ticked when the form comes back
	// with an error elsewhere.
	TermsAccepted bool
}

func (s *Server) registerPage(id *certgate.Identity, form model.Account, errs model.ValidationErrors) registerPage {
	p := registerPage{Lang: "fr", Authority: id.IssuerCommonName, Domain: id.Domain, CSRF: s.csrfToken(id),
		TermsVersion: TermsVersion, Form: form, Errors: errs}
	for _, r := range id.Roles {
		if l, ok := roleLabels[r]; ok {
			p.Roles = append(p.Roles, roleChoice{r, l})
		}
	}
	return p
}

// showRegistration pre-fills the form from the certificate.
func (s *Server) showRegistration(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if !canRegister(id) {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	if acc, _, err := s.deps.Accounts.AccountByFingerprint(r.Context(), id.Fingerprint); err == nil && acc != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	form := model.Account{DisplayName: displayName(id), Email: id.Email}
	if len(id.Roles) == 1 {
		form.Role = id.Roles[0]
	}
	if len(id.OrganizationalUnits) > 0 && (id.Domain == "justice" || id.Domain == "expert") {
		form.Court = id.OrganizationalUnits[0]
	}
	if id.Domain == "bar" {
		form.Bar, form.CNBF = barOf(id), cnbfOf(id)
	}
	s.renderPage(w, r, http.StatusOK, "register", s.registerPage(id, form, nil))
}

// barOf is the bar named in a lawyer's certificate: the first OU or O
// that says "Barreau" ("Barreau de Rennes"), else "".
func barOf(id *certgate.Identity) string {
	for _, v := range slices.Concat(id.OrganizationalUnits, id.Organizations) {
		if strings.Contains(strings.ToLower(v), "barreau") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// cnbfOf is the CNBF number when the certificate's subject serialNumber
// carries one ("CNBF-123456" or the digits alone), else "".
func cnbfOf(id *certgate.Identity) string {
	n := strings.TrimSpace(id.SerialNumber)
	if len(n) > 5 && strings.EqualFold(n[:5], "CNBF-") {
		n = n[5:]
	}
	if n == "" || len(n) > 20 || strings.Trim(n, "0123456789") != "" {
		return ""
	}
	return n
}

func displayName(id *certgate.Identity) string {
	if id.GivenName != "" && id.Surname != "" {
		return id.GivenName + " " + id.Surname
	}
	return id.CommonName
}

// register creates the account; the form comes back with the errors next
// to the fields when something is wrong, keeping what was typed.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if !canRegister(id) {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	f := r.PostForm
	form := model.Account{Role: f.Get("role"), Domain: id.Domain, DisplayName: strings.TrimSpace(f.Get("display_name")),
		Email: strings.TrimSpace(f.Get("email")), Phone: strings.TrimSpace(f.Get("phone")), Court: strings.TrimSpace(f.Get("court")),
		Bar: strings.TrimSpace(f.Get("bar")), CNBF: strings.TrimSpace(f.Get("cnbf")),
		Specialties: strings.TrimSpace(f.Get("specialties")), NationalList: f.Get("national_list") == "1"}
	var errs model.ValidationErrors
	if !id.HasRole(form.Role) {
		errs = append(errs, model.FieldError{Field: "role", Message: "Choisissez un rôle permis par votre certificat."})
	}
	if f.Get("terms") != TermsVersion {
		errs = append(errs, model.FieldError{Field: "terms", Message: "Vous devez accepter les conditions d’utilisation."})
	}
	if err := form.Validate(); err != nil {
		var v model.ValidationErrors
		if errors.As(err, &v) {
			errs = append(errs, v...)
		}
	}
	if len(errs) > 0 {
		page := s.registerPage(id, form, errs)
		page.TermsAccepted = f.Get("terms") == TermsVersion
		s.renderPage(w, r, http.StatusUnprocessableEntity, "register", page)
		return
	}
	form.TermsVersion = TermsVersion
	now := s.now()
	form.TermsAcceptedAt = &now
	acc, created, err := s.deps.Accounts.Register(r.Context(), &form, &model.AccountCertificate{Fingerprint: id.Fingerprint,
		Issuer: id.Issuer, Serial: id.Serial.String(), Subject: id.Leaf.Subject.String(), NotAfter: id.NotAfter})
	if err != nil {
		s.log.Error("registration", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	if created {
		s.log.Info("account registered", "account", acc.ID, "role", acc.Role, "domain", acc.Domain)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) showTerms(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	// First: an account made without the terms (a litigant's, at the
	// counter) is asked for the first time, not for "new" terms.
	s.renderPage(w, r, http.StatusOK, "terms", map[string]any{"Lang": "fr", "CSRF": s.csrfToken(id), "TermsVersion": TermsVersion,
		"First": AccountFrom(r.Context()).TermsVersion == ""})
}

func (s *Server) acceptTerms(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	if r.PostFormValue("terms") != TermsVersion {
		s.renderPage(w, r, http.StatusUnprocessableEntity, "terms", map[string]any{"Lang": "fr", "CSRF": s.csrfToken(id),
			"TermsVersion": TermsVersion, "Error": "Vous devez accepter les conditions d’utilisation pour continuer.",
			"First": AccountFrom(r.Context()).TermsVersion == ""})
		return
	}
	if err := s.deps.Accounts.AcceptTerms(r.Context(), AccountFrom(r.Context()).ID, TermsVersion); err != nil {
		s.log.Error("accepting terms", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	s.accounts.drop(id.Fingerprint) // or the cached account sends them back here
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
