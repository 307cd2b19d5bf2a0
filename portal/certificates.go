package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
)

// certificateLinkLifetime is how long an "add a certificate" link works.
const certificateLinkLifetime = 24 * time.Hour

const linkCookie = "sceau_lien"

type accountPage struct {
	Lang, CSRF, Notice, Error, Current string
	Account                            *model.Account
	Certificates                       []model.AccountCertificate
	Notifications                      *notificationForm // notifications.go
}

// showAccount lists the account's certificates, with the actions on them.
func (s *Server) showAccount(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, r.URL.Query().Get("ok"), "")
}

var accountNotices = map[string]string{
	"lien":          "Un courriel contenant un lien vous a été envoyé. Ouvrez-le dans un navigateur où votre nouveau certificat est installé, dans les 24 heures.",
	"retire":        "Le certificat a été retiré : il ne permet plus d’accéder à votre compte.",
	"ajoute":        "Le nouveau certificat est associé à votre compte.",
	"notifications": "Vos choix de notifications sont enregistrés.",
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, notice, errMsg string) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	certs, err := s.deps.Accounts.AccountCertificates(r.Context(), acc.ID)
	if err != nil {
		s.log.Error("listing certificates", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	s.renderPage(w, r, status, "account", accountPage{Lang: "fr", CSRF: s.csrfToken(id), Notice: accountNotices[notice],
		Error: errMsg, Current: id.Fingerprint, Account: acc, Certificates: certs, Notifications: s.notificationSettingsForm(r)})
}

// requestCertificateLink emails the account a link to add a certificate.
// The link goes to the address on the account, never to one typed here.
func (s *Server) requestCertificateLink(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	token, hash, err := newLinkToken()
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	msg, err := mail.Compose(s.deps.Templates, "certificate_link", acc.Email, acc.DisplayName, map[string]any{
		"Name": acc.DisplayName, "Link": s.cfg.PortalURL + "/certificat/ajout?jeton=" + token,
		"Expires": s.now().Add(certificateLinkLifetime).In(paris).Format("02/01/2006 à 15:04"),
	})
	if err != nil {
		s.log.Error("composing the certificate link mail", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	link := &model.CertificateLink{AccountID: acc.ID, TokenHash: hash, ExpiresAt: s.now().Add(certificateLinkLifetime)}
	if err := s.deps.Accounts.CreateCertificateLink(r.Context(), link, msg); err != nil {
		s.log.Error("creating a certificate link", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	s.log.Info("certificate link sent", "account", acc.ID)
	http.Redirect(w, r, "/compte?ok=lien", http.StatusSeeOther)
}

// removeCertificate withdraws a certificate of the account (not the one
// in use: the person would lock themselves out mid-session).
func (s *Server) removeCertificate(w http.ResponseWriter, r *http.Request) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	certID, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	certs, err := s.deps.Accounts.AccountCertificates(r.Context(), acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	for _, c := range certs {
		if c.ID == certID {
			defer s.accounts.drop(c.Fingerprint) // this instance stops admitting it at once
		}
		if c.ID == certID && c.Fingerprint == id.Fingerprint {
			s.renderAccount(w, r, http.StatusConflict, "", "Vous ne pouvez pas retirer le certificat avec lequel vous êtes connecté : connectez-vous avec un autre de vos certificats.")
			return
		}
	}
	switch err := s.deps.Accounts.RemoveCertificate(r.Context(), acc.ID, certID, s.now()); {
	case errors.Is(err, model.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
	case errors.Is(err, model.ErrLastCertificate):
		s.renderAccount(w, r, http.StatusConflict, "", "C’est votre seul certificat : ajoutez-en un autre avant de le retirer.")
	case err != nil:
		s.log.Error("removing a certificate", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
	default:
		s.log.Info("certificate removed", "account", acc.ID, "certificate", certID)
		http.Redirect(w, r, "/compte?ok=retire", http.StatusSeeOther)
	}
}

func newLinkToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// openCertificateLink swaps the emailed token for a short-lived cookie and
// redirects to a URL without it. GET consumes nothing: a mail scanner
// opening the link first does no harm.
func (s *Server) openCertificateLink(w http.ResponseWriter, r *http.Request) {
	if token := r.URL.Query().Get("jeton"); token != "" {
		http.SetCookie(w, &http.Cookie{Name: linkCookie, Value: token, Path: "/certificat", MaxAge: 900,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/certificat/ajout", http.StatusSeeOther)
		return
	}
	s.confirmCertificateLink(w, r, "")
}

type linkPage struct {
	Lang, CSRF, Title, Message, Error string
	Account                           *model.Account
	Identity                          *certgate.Identity
}

func (s *Server) linkAccount(r *http.Request) (*model.Account, string, error) {
	c, err := r.Cookie(linkCookie)
	if err != nil || c.Value == "" {
		return nil, "", model.ErrLinkInvalid
	}
	hash := hashToken(c.Value)
	acc, err := s.deps.Accounts.CertificateLinkAccount(r.Context(), hash, s.now())
	return acc, hash, err
}

func (s *Server) linkProblem(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.renderPage(w, r, status, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()), Title: title, Message: msg})
}

// confirmCertificateLink shows which certificate is about to be added.
func (s *Server) confirmCertificateLink(w http.ResponseWriter, r *http.Request, errMsg string) {
	id := IdentityFrom(r.Context())
	acc, _, err := s.linkAccount(r)
	if err != nil {
		s.linkProblem(w, r, http.StatusGone, "Lien invalide ou expiré",
			"Ce lien d’ajout de certificat n’est plus valable (il sert une seule fois et pendant 24 heures). Demandez-en un nouveau depuis la page « Mon compte ».")
		return
	}
	if other, _, err := s.deps.Accounts.AccountByFingerprint(r.Context(), id.Fingerprint); err == nil && other != nil {
		s.linkProblem(w, r, http.StatusConflict, "Certificat déjà associé",
			"Le certificat présenté par votre navigateur est déjà associé à un compte. Ouvrez le lien dans un navigateur où votre nouveau certificat est installé.")
		return
	}
	if !id.HasRole(acc.Role) {
		s.linkProblem(w, r, http.StatusForbidden, "Certificat non adapté à ce compte",
			"Ce certificat a été délivré par une autorité qui ne correspond pas à votre rôle : il ne peut pas être associé à votre compte.")
		return
	}
	s.renderPage(w, r, http.StatusOK, "certificate_link", linkPage{Lang: "fr", CSRF: s.csrfToken(id), Account: acc, Identity: id, Error: errMsg})
}

// useCertificateLink adds the presented certificate to the account.
func (s *Server) useCertificateLink(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	acc, hash, err := s.linkAccount(r)
	if err == nil && !id.HasRole(acc.Role) {
		err = model.ErrLinkInvalid
	}
	if err == nil {
		acc, err = s.deps.Accounts.UseCertificateLink(r.Context(), hash, &model.AccountCertificate{Fingerprint: id.Fingerprint,
			Issuer: id.Issuer, Serial: id.Serial.String(), Subject: id.Leaf.Subject.String(), NotAfter: id.NotAfter}, s.now())
	}
	switch {
	case errors.Is(err, model.ErrCertificateTaken):
		s.linkProblem(w, r, http.StatusConflict, "Certificat déjà associé", "Ce certificat est déjà associé à un compte.")
	case err != nil:
		s.linkProblem(w, r, http.StatusGone, "Lien invalide ou expiré",
			"Ce lien d’ajout de certificat n’est plus valable. Demandez-en un nouveau depuis la page « Mon compte ».")
	default:
		http.SetCookie(w, &http.Cookie{Name: linkCookie, Value: "", Path: "/certificat", MaxAge: -1, Secure: true, HttpOnly: true})
		s.log.Info("certificate added", "account", acc.ID, "serial", id.Serial.String(), "issuer", id.IssuerCommonName)
		http.Redirect(w, r, "/compte?ok=ajoute", http.StatusSeeOther)
	}
}

var paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.UTC
}()
