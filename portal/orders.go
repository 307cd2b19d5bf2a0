package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
)

// Orders is what the retrieval counter needs from storage.
type Orders interface {
	retrieval.Store
	CreateOrder(ctx context.Context, actor int64, o *model.CertificateOrder, render model.OrderMail) (*model.CertificateOrder, bool, error)
	OrderByToken(ctx context.Context, tokenHash string) (*model.OrderView, error)
	VerifyCode(ctx context.Context, tokenHash, address string, at time.Time, lim model.CodeLimits, match func(*model.CertificateOrder) bool) (*model.CertificateOrder, error)
	OrderStatuses(ctx context.Context, caseID, actor int64) (map[int64]*model.OrderStatus, error)
	CancelOrders(ctx context.Context, caseID, actor, participantID int64) (int64, error)
	RearmOrder(ctx context.Context, caseID, actor, participantID int64) error
	DeclareLost(ctx context.Context, accountID int64, render model.LostMail) (int, error)
}

// CounterConfig sets the retrieval counter's defaults and limits.
type CounterConfig struct {
	DefaultValidityDays, MaxValidityDays int // certificate lifetime (default 180; the CA's maximum)
	DefaultLinkDays, MaxLinkDays         int // collection link lifetime (default 7, at most 30)
	MaxDownloads                         int // downloads an expert may allow (default 3)
	CodeAttempts                         int // wrong codes before an order locks (default 5)
	AddressAttempts                      int // wrong codes per address per hour (default 20)
	// SMS sends the collection code by text message when the expert asks;
	// nil offers only "tell the person yourself".
	SMS SMSSender
}

// SMSSender carries a collection code to a phone. No provider is built
// in; cmd/sceau plugs a logging one in development.
type SMSSender interface {
	Send(ctx context.Context, phone, text string) error
}

func (c CounterConfig) withDefaults() CounterConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.DefaultValidityDays, 180)
	def(&c.MaxValidityDays, 365)
	def(&c.DefaultLinkDays, 7)
	def(&c.MaxLinkDays, 30)
	def(&c.MaxDownloads, 3)
	def(&c.CodeAttempts, 5)
	def(&c.AddressAttempts, 20)
	if c.DefaultValidityDays > c.MaxValidityDays {
		c.DefaultValidityDays = c.MaxValidityDays
	}
	return c
}

// OrderInput is what the expert asks for, from the participants page or
// the JSON API. Empty fields take the participant's details and the
// configured defaults; Nonce identifies the form (or API request) so that
// sending it twice places one order.
type OrderInput struct {
	Name, Email, Phone                string
	ValidityDays, Downloads, LinkDays int // 0: the default
	Nonce                             string
}

// orderForm reads the participants page's order form.
func orderForm(r *http.Request) (OrderInput, map[string]string, model.ValidationErrors) {
	f := map[string]string{}
	for _, k := range []string{"display_name", "email", "phone", "validity_days", "downloads", "link_days", "nonce"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := OrderInput{Name: f["display_name"], Email: f["email"], Phone: f["phone"], Nonce: f["nonce"]}
	var errs model.ValidationErrors
	for field, dst := range map[string]*int{"validity_days": &in.ValidityDays, "downloads": &in.Downloads, "link_days": &in.LinkDays} {
		if f[field] == "" {
			continue
		}
		n, err := strconv.Atoi(f[field])
		if err != nil || n < 1 {
			errs = append(errs, model.FieldError{Field: field, Message: "Indiquez un nombre entier positif."})
			continue
		}
		*dst = n
	}
	return in, f, errs
}

// newOrder checks an order for participant p against the configured
// limits; the errors name the form's fields.
func (s *Server) newOrder(p *model.Participant, in OrderInput) (*model.CertificateOrder, model.ValidationErrors) {
	cc := s.cfg.Counter.withDefaults()
	o := &model.CertificateOrder{CaseID: p.CaseID, ParticipantID: p.ID, Name: strings.TrimSpace(in.Name), Email: strings.TrimSpace(in.Email),
		Phone: strings.TrimSpace(in.Phone), FormNonce: in.Nonce}
	if o.Name == "" {
		o.Name = p.DisplayName
	}
	if o.Email == "" {
		o.Email = p.Email
	}
	if o.Phone == "" {
		o.Phone = p.Phone
	}
	var errs model.ValidationErrors
	contact := model.Participant{DisplayName: o.Name, Email: o.Email, Phone: o.Phone}
	if err := contact.Validate(); err != nil {
		var v model.ValidationErrors
		if errors.As(err, &v) {
			errs = append(errs, v...)
		}
	}
	number := func(field string, v, def, max int, label string) int {
		if v == 0 {
			return def
		}
		if v < 1 || v > max {
			errs = append(errs, model.FieldError{Field: field, Message: label + " : un nombre entre 1 et " + strconv.Itoa(max) + "."})
		}
		return v
	}
	o.ValidityDays = number("validity_days", in.ValidityDays, cc.DefaultValidityDays, cc.MaxValidityDays, "Durée de validité en jours")
	o.DownloadsAllowed = number("downloads", in.Downloads, 1, cc.MaxDownloads, "Nombre de téléchargements")
	linkDays := number("link_days", in.LinkDays, cc.DefaultLinkDays, cc.MaxLinkDays, "Durée du lien en jours")
	o.LinkExpiresAt = s.now().Add(time.Duration(linkDays) * 24 * time.Hour)
	if len(o.FormNonce) < 16 || len(o.FormNonce) > 64 {
		errs = append(errs, model.FieldError{Field: "order", Message: "Formulaire périmé : rechargez la page et recommencez."})
	}
	return o, errs
}

// placeOrder records a checked order with its collection email and
// returns it with the collection code (the same code for the same nonce:
// again is true when this nonce had already placed it).
func (s *Server) placeOrder(ctx context.Context, actor int64, o *model.CertificateOrder) (order *model.CertificateOrder, code string, again bool, err error) {
	code = retrieval.Code(s.deps.SessionKey, o.FormNonce)
	salt, err := retrieval.NewSalt()
	if err != nil {
		return nil, "", false, err
	}
	token, hash, err := retrieval.NewToken()
	if err != nil {
		return nil, "", false, err
	}
	o.CodeSalt, o.CodeHash, o.TokenHash = salt, retrieval.HashCode(salt, code), hash
	order, again, err = s.deps.Orders.CreateOrder(ctx, actor, o, func(o *model.CertificateOrder, c *model.Case, expert *model.Account) (*model.OutboxMessage, error) {
		return mail.Compose(s.deps.Templates, "order_link", o.Email, o.Name, map[string]any{
			"Name": o.Name, "Case": c.Name, "Expert": expert.DisplayName, "ExpertEmail": expert.Email,
			"Link": s.cfg.CounterURL + "/retrait?jeton=" + token, "Expires": o.LinkExpiresAt.In(paris).Format("02/01/2006 à 15:04"),
		})
	})
	if err != nil {
		return nil, "", false, err
	}
	if !again {
		s.log.Info("certificate ordered", "case", o.CaseID, "participant", o.ParticipantID, "order", order.ID)
	}
	return order, code, again, nil
}

// orderPage shows the expert the collection code, once.
type orderPage struct {
	Lang, CSRF   string
	Case         *model.Case
	Order        *model.CertificateOrder
	Code         string
	Again        bool // the same form was submitted twice
	SMSSent      bool
	SMSAvailable bool
	Expires      string
}

// orderCertificate orders a litigant certificate for a participant (or
// re-issues it: earlier links stop working and collected certificates are
// revoked). The answer shows the collection code; the collection link
// goes by email through the outbox.
func (s *Server) orderCertificate(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	pid, ok := idVar(r, "id")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	c, p, err := s.caseParticipant(r.Context(), caseID, pid, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	in, form, errs := orderForm(r)
	o, more := s.newOrder(p, in)
	if errs = append(errs, more...); len(errs) > 0 {
		s.renderParticipantsOrder(w, r, http.StatusUnprocessableEntity, errs, form, pid)
		return
	}
	order, code, again, err := s.placeOrder(r.Context(), acc.ID, o)
	switch {
	case errors.Is(err, model.ErrNotOrderable):
		s.renderParticipantsOrder(w, r, http.StatusConflict, model.ValidationErrors{{Field: "order", Message: "Ce participant a son propre certificat professionnel : Sceau ne lui en commande pas."}}, form, pid)
		return
	case errors.Is(err, model.ErrCaseClosed):
		s.renderParticipantsOrder(w, r, http.StatusConflict, model.ValidationErrors{{Field: "order", Message: "L’expertise est terminée : on ne commande plus de certificat."}}, form, pid)
		return
	case errors.Is(err, model.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
		return
	case errors.Is(err, model.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("ordering a certificate", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	page := orderPage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Case: c, Order: order, Code: code, Again: again,
		SMSAvailable: s.cfg.Counter.SMS != nil && order.Phone != "", Expires: order.LinkExpiresAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04"))}
	if r.PostFormValue("sms") == "1" && page.SMSAvailable {
		if err := s.cfg.Counter.SMS.Send(r.Context(), order.Phone, "Sceau : votre code de retrait de certificat est "+code); err != nil {
			s.log.Warn("sending the collection code by SMS", "order", order.ID, "err", err)
		} else {
			page.SMSSent = true
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, http.StatusOK, "order_code", page)
}

// caseParticipant reads a case and one of its participants as the actor
// may see them.
func (s *Server) caseParticipant(ctx context.Context, caseID, pid, actor int64) (*model.Case, *model.Participant, error) {
	c, err := s.deps.Cases.Case(ctx, caseID, actor)
	if err != nil {
		return nil, nil, err
	}
	people, err := s.deps.Members.Participants(ctx, caseID, actor)
	if err != nil {
		return nil, nil, err
	}
	for i := range people {
		if people[i].ID == pid {
			return c, &people[i], nil
		}
	}
	return nil, nil, model.ErrNotFound
}

// renderParticipantsOrder shows the participants page with the order
// form's errors next to its fields.
func (s *Server) renderParticipantsOrder(w http.ResponseWriter, r *http.Request, status int, errs model.ValidationErrors, form map[string]string, pid int64) {
	if form == nil {
		form = map[string]string{}
	}
	form["order_for"] = strconv.FormatInt(pid, 10)
	s.renderParticipants(w, r, status, "", errs, form)
}

// revokeCertificate is the expert's "revoke": the participant's links stop
// working and their certificates are revoked (within seconds, by the
// revocation worker).
func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	pid, _ := idVar(r, "id")
	n, err := s.deps.Orders.CancelOrders(r.Context(), caseID, acc.ID, pid)
	if err != nil {
		s.orderActionFailed(w, r, err)
		return
	}
	s.log.Info("litigant certificates revoked", "case", caseID, "participant", pid, "count", n)
	s.revocations.poke()
	http.Redirect(w, r, s.participantsURL(caseID, "revoque"), http.StatusSeeOther)
}

// rearmOrder unlocks an order locked by wrong codes.
func (s *Server) rearmOrder(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	pid, _ := idVar(r, "id")
	if err := s.deps.Orders.RearmOrder(r.Context(), caseID, acc.ID, pid); err != nil {
		s.orderActionFailed(w, r, err)
		return
	}
	http.Redirect(w, r, s.participantsURL(caseID, "rearme"), http.StatusSeeOther)
}

func (s *Server) orderActionFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, model.ErrForbidden):
		s.renderError(w, r, http.StatusForbidden)
	case errors.Is(err, model.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
	case errors.Is(err, model.ErrCaseClosed):
		s.renderError(w, r, http.StatusConflict)
	default:
		s.log.Error("certificate order action", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
	}
}

// declareLost lets a litigant declare their certificate lost: every
// certificate Sceau issued them is revoked and the expert is told.
func (s *Server) declareLost(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	if acc.Domain != model.LitigantDomain {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	n, err := s.deps.Orders.DeclareLost(r.Context(), acc.ID, func(o *model.CertificateOrder, c *model.Case, expert, person *model.Account) (*model.OutboxMessage, error) {
		return mail.Compose(s.deps.Templates, "order_lost_expert", expert.Email, expert.DisplayName, map[string]any{
			"Expert": expert.DisplayName, "Name": person.DisplayName, "Email": person.Email, "Case": c.Name,
			"Link": s.cfg.PortalURL + "/affaires/" + strconv.FormatInt(o.CaseID, 10) + "/participants",
		})
	})
	if err != nil {
		s.log.Error("declaring a certificate lost", "account", acc.ID, "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	s.log.Info("litigant certificate declared lost", "account", acc.ID, "count", n)
	s.revocations.poke()
	s.renderPage(w, r, http.StatusOK, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()),
		Title: "Certificat déclaré perdu", Message: "Votre certificat est révoqué : il ne permet plus d’accéder à l’expertise. L’expert en est informé.",
		Todo: "Demandez à l’expert de vous commander un nouveau certificat ; vous recevrez un nouveau lien de retrait par courriel."})
}

// revocationPoke wakes the revocation worker after a change that marks
// certificates for revocation, so it acts at once instead of at its next
// tick; nil-safe.
type revocationPoke struct{ ch chan struct{} }

func (p *revocationPoke) poke() {
	if p == nil || p.ch == nil {
		return
	}
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

// RevocationWake is the channel the revocation worker listens on.
func (s *Server) RevocationWake() <-chan struct{} { return s.revocations.ch }
