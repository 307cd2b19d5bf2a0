package portal

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/proxycert"
)

// Gate decides who a presented certificate chain is (certgate.Gate).
type Gate interface {
	Check(presented []*x509.Certificate) (*certgate.Identity, *certgate.Refusal)
	Recheck(id *certgate.Identity) *certgate.Refusal
	AcceptedAuthorities() []string
}

type identityKey struct{}

// IdentityFrom returns the identity the gate admitted for this request.
func IdentityFrom(ctx context.Context) *certgate.Identity {
	id, _ := ctx.Value(identityKey{}).(*certgate.Identity)
	return id
}

// presentedChain is the chain the client presented: from the TLS
// connection, or from a trusted reverse proxy's header. A certificate
// header from anyone else is stripped and ignored.
func (s *Server) presentedChain(r *http.Request) ([]*x509.Certificate, error) {
	if s.deps.ProxyCert == nil {
		proxycert.StripAll(r.Header)
	} else if chain, fromProxy, err := s.deps.ProxyCert.FromRequest(r); fromProxy {
		return chain, err
	}
	if r.TLS == nil {
		return nil, nil
	}
	return r.TLS.PeerCertificates, nil
}

// requireCertificate admits a request on the portal only with a
// certificate the gate accepts; anything else gets a French page saying
// what happened and what to do.
func (s *Server) requireCertificate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chain, err := s.presentedChain(r)
		if err != nil {
			s.log.Warn("unreadable certificate header from the proxy", "request_id", RequestID(r.Context()), "err", err)
			ref := &certgate.Refusal{Kind: certgate.RefusalMalformed, Detail: err.Error()}
			s.recordRefusal(r, ref)
			s.renderRefusal(w, r, ref)
			return
		}
		id, refusal := s.check(chain)
		if refusal != nil {
			s.log.Info("refused at the gate", "request_id", RequestID(r.Context()), "reason", refusal.Kind.String(),
				"domain", refusal.Domain, "issuer", refusal.Issuer, "serial", serialString(refusal), "detail", refusal.Detail)
			s.recordRefusal(r, refusal)
			s.renderRefusal(w, r, refusal)
			return
		}
		next.ServeHTTP(w, r.WithContext(withActor(context.WithValue(r.Context(), identityKey{}, id), r, id, nil)))
	})
}

func serialString(r *certgate.Refusal) string {
	if r.Serial == nil {
		return ""
	}
	return r.Serial.String()
}

type refusalPage struct {
	Lang, Title, Message, Todo, CounterURL, RequestID string
	Accepted                                          []string
	// Code names the refusal for the JSON API's problem documents.
	Code string
}

// renderRefusal explains a refusal. Dates are shown in French format.
func (s *Server) renderRefusal(w http.ResponseWriter, r *http.Request, ref *certgate.Refusal) {
	p := refusalPage{Lang: "fr", RequestID: RequestID(r.Context())}
	authority := ref.DomainLabel
	if authority == "" {
		authority = s.tr(r, "l’autorité qui vous l’a délivré")
	}
	date := func(t time.Time) string { return t.Format("02/01/2006") }
	status := http.StatusForbidden
	switch ref.Kind {
	case certgate.RefusalNoCertificate:
		p.Title = "Aucun certificat présenté"
		p.Message = "Votre navigateur n’a présenté aucun certificat. L’accès aux espaces d’expertise se fait uniquement avec un certificat électronique installé dans votre navigateur."
		p.Todo = "Installez votre certificat (magistrats et greffiers : certificat Justice ; avocats : clé RPVA ; experts : certificat d’expert), puis fermez complètement le navigateur et rouvrez cette page. Si une fenêtre vous demande de choisir un certificat, choisissez-le."
		p.Accepted = s.deps.Gate.AcceptedAuthorities()
		p.CounterURL = s.cfg.CounterURL
	case certgate.RefusalExpired:
		p.Title = "Certificat expiré"
		if ref.Authority != "" {
			p.Message = s.trf(r, "Le certificat de l’autorité « %s » qui a délivré le vôtre a expiré le %s.", ref.Authority, date(ref.NotAfter))
			p.Todo = s.trf(r, "Contactez %s ou l’administrateur de ce service.", authority)
		} else {
			p.Message = s.trf(r, "Votre certificat a expiré le %s.", date(ref.NotAfter))
			p.Todo = s.trf(r, "Demandez-en un nouveau à %s, installez-le, puis revenez sur cette page.", authority)
		}
	case certgate.RefusalNotYetValid:
		p.Title = "Certificat pas encore valable"
		p.Message = s.trf(r, "Votre certificat ne sera valable qu’à partir du %s.", date(ref.NotBefore))
		p.Todo = "Vérifiez la date et l’heure de votre ordinateur, ou réessayez à partir de cette date."
	case certgate.RefusalUnknownCA:
		p.Title = "Autorité de certification non reconnue"
		p.Message = "Le certificat présenté a été délivré par une autorité que ce service ne reconnaît pas."
		p.Todo = "Choisissez un autre certificat (fermez puis rouvrez le navigateur pour qu’il vous le redemande)."
		p.Accepted = s.deps.Gate.AcceptedAuthorities()
	case certgate.RefusalRevoked:
		p.Title = "Certificat révoqué"
		p.Message = s.trf(r, "Votre certificat a été révoqué par %s : il ne peut plus être utilisé.", authority)
		p.Todo = s.trf(r, "Si vous ne l’avez pas demandé, contactez %s. Pour continuer, faites-vous délivrer un nouveau certificat.", authority)
	case certgate.RefusalWrongUsage:
		p.Title = "Certificat inadapté"
		p.Message = "Ce certificat ne permet pas de s’authentifier auprès d’un site (il sert à autre chose, par exemple à signer)."
		p.Todo = "Choisissez votre certificat d’authentification (fermez puis rouvrez le navigateur pour qu’il vous le redemande)."
	case certgate.RefusalPolicyMissing:
		p.Title = "Type de certificat non accepté"
		p.Message = s.trf(r, "Ce certificat a bien été délivré par %s, mais il n’est pas d’un type accepté pour ce service.", authority)
		p.Todo = "Choisissez un autre certificat de la même autorité, ou renseignez-vous auprès d’elle."
	case certgate.RefusalRevocationUnavailable:
		p.Title = "Vérification momentanément impossible"
		p.Message = s.trf(r, "La liste des certificats révoqués de %s n’a pas pu être consultée : par sécurité, l’accès est suspendu.", authority)
		p.Todo = "Réessayez dans quelques minutes. Si le problème persiste, prévenez l’administrateur en citant la référence ci-dessous."
		status = http.StatusServiceUnavailable
	default:
		p.Title = "Certificat illisible"
		p.Message = "Le certificat présenté n’a pas pu être lu."
		p.Todo = "Choisissez un autre certificat, ou réinstallez le vôtre."
	}
	p.Code = ref.Kind.String()
	s.renderPage(w, r, status, "refusal", p)
}

// portalWelcome greets a certificate holder on a portal without accounts.
func (s *Server) portalWelcome(w http.ResponseWriter, r *http.Request) {
	id := IdentityFrom(r.Context())
	s.renderPage(w, r, http.StatusOK, "portal_welcome", dashboardPage{Lang: "fr", Name: displayName(id),
		Authority: id.IssuerCommonName, NotAfter: id.NotAfter})
}
