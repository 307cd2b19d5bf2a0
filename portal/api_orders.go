package portal

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// Certificate orders (issue 7) in the JSON API: the case owner lists the
// litigant certificates of the case, orders one (the answer carries the
// collection code, once), revokes and re-arms, through the same Orders
// interface and the same newOrder/placeOrder as the participants page.
// Rights are the store's: OrderStatuses, CreateOrder, CancelOrders and
// RearmOrder accept the active owning expert only (ErrForbidden for other
// participants, ErrNotFound for outsiders). No answer ever carries the
// link token, the code's hash or its salt.

// apiCertificateOrders mounts the order routes on r (behind the API guard,
// the gate and the account middleware), where the participants page has
// its order forms: with the retrieval counter enabled.
func (s *Server) apiCertificateOrders(r *mux.Router) {
	if !s.counterEnabled() || s.deps.Cases == nil || s.deps.Members == nil {
		return
	}
	r.HandleFunc("/cases/{case:[0-9]+}/orders", s.apiOrders).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/cases/{case:[0-9]+}/participants/{participant:[0-9]+}/orders", s.apiPlaceOrder).Methods(http.MethodPost)
	r.HandleFunc("/cases/{case:[0-9]+}/participants/{participant:[0-9]+}/orders/revoke", s.apiRevokeOrders).Methods(http.MethodPost)
	r.HandleFunc("/cases/{case:[0-9]+}/participants/{participant:[0-9]+}/orders/rearm", s.apiRearmOrder).Methods(http.MethodPost)
}

func init() {
	problemTexts["not-orderable"] = [2]string{"Pas de certificat pour ce participant", "No litigant certificate for this participant"}
	problemTexts["request-id-reused"] = [2]string{"Identifiant de requête déjà utilisé", "Request id already used"}
	problemTexts["not-locked"] = [2]string{"Aucun retrait bloqué", "No locked collection"}
}

// apiOrderJSON is an order as the expert sees it.
type apiOrderJSON struct {
	ID               int64      `json:"id"`
	ParticipantID    int64      `json:"participant_id"`
	State            string     `json:"state"`
	Name             string     `json:"name"`
	Email            string     `json:"email"`
	Phone            string     `json:"phone,omitempty"`
	ValidityDays     int        `json:"validity_days"`
	DownloadsAllowed int        `json:"downloads_allowed"`
	DownloadsUsed    int        `json:"downloads_used"`
	CreatedAt        time.Time  `json:"created_at"`
	LinkExpiresAt    time.Time  `json:"link_expires_at"`
	LinkExpired      bool       `json:"link_expired"`
	Locked           bool       `json:"locked"`
	LockedAt         *time.Time `json:"locked_at"`
	FailedAttempts   int        `json:"failed_attempts"`
	CollectedAt      *time.Time `json:"collected_at"`
	ClosedAt         *time.Time `json:"closed_at"`
}

// apiCollectedJSON is a certificate collected under an order.
type apiCollectedJSON struct {
	Serial      string     `json:"serial"`
	NotAfter    time.Time  `json:"not_after"`
	Profile     string     `json:"profile"`
	CollectedAt time.Time  `json:"collected_at"`
	RevokeDue   *time.Time `json:"revoke_due"`
	RevokedAt   *time.Time `json:"revoked_at"`
	// Revoked: revoked at the CA, or marked for the revocation worker
	// (within seconds); either way no longer to be relied on.
	Revoked bool `json:"revoked"`
}

// apiOrderStatus is one orderable participant with their latest order
// (null before any) and the certificates collected for them.
type apiOrderStatus struct {
	ParticipantID int64              `json:"participant_id"`
	DisplayName   string             `json:"display_name"`
	Role          string             `json:"role"`
	Active        bool               `json:"active"`
	Order         *apiOrderJSON      `json:"order"`
	Certificates  []apiCollectedJSON `json:"certificates"`
}

// apiPlacedOrder answers an order: the order, the collection code (to give
// the person by another channel) and whether this request_id had already
// placed it.
type apiPlacedOrder struct {
	apiOrderJSON
	CollectionCode string `json:"collection_code"`
	Replayed       bool   `json:"replayed"`
}

// apiOrderRequest is the body of an order; absent fields take the
// participant's details and the configured defaults.
type apiOrderRequest struct {
	Name         string `json:"name"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	ValidityDays *int   `json:"validity_days"`
	Downloads    *int   `json:"downloads"`
	LinkDays     *int   `json:"link_days"`
	RequestID    string `json:"request_id"`
}

// utcOrNil is t in UTC, nil staying nil (the API's optional times).
func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func orderJSON(o *model.CertificateOrder, now time.Time) apiOrderJSON {
	return apiOrderJSON{ID: o.ID, ParticipantID: o.ParticipantID, State: o.State, Name: o.Name, Email: o.Email, Phone: o.Phone,
		ValidityDays: o.ValidityDays, DownloadsAllowed: o.DownloadsAllowed, DownloadsUsed: o.DownloadsUsed,
		CreatedAt: o.CreatedAt.UTC(), LinkExpiresAt: o.LinkExpiresAt.UTC(), LinkExpired: !now.Before(o.LinkExpiresAt),
		Locked: o.LockedAt != nil, LockedAt: utcOrNil(o.LockedAt), FailedAttempts: o.FailedAttempts,
		CollectedAt: utcOrNil(o.CollectedAt), ClosedAt: utcOrNil(o.ClosedAt)}
}

func orderStatusJSON(p model.Participant, st *model.OrderStatus, now time.Time) apiOrderStatus {
	out := apiOrderStatus{ParticipantID: p.ID, DisplayName: p.DisplayName, Role: p.Role, Active: p.Active, Certificates: []apiCollectedJSON{}}
	if st == nil {
		return out
	}
	o := orderJSON(&st.Order, now)
	out.Order = &o
	for _, c := range st.Certificates {
		out.Certificates = append(out.Certificates, apiCollectedJSON{Serial: c.Serial, NotAfter: c.NotAfter.UTC(), Profile: c.Profile,
			CollectedAt: c.CollectedAt.UTC(), RevokeDue: utcOrNil(c.RevokeDue), RevokedAt: utcOrNil(c.RevokedAt),
			Revoked: c.RevokedAt != nil || c.RevokeDue != nil})
	}
	return out
}

// orderableRow is the participants page's rule for who gets an order
// section: party members, and outside sapiteurs (no account of their own,
// or already ordered for).
func orderableRow(p model.Participant, st *model.OrderStatus) bool {
	return p.Role == string(rights.RolePartyMember) || p.Role == string(rights.RoleSapiteur) && (p.AccountID == nil || st != nil)
}

// apiOrders lists, for the case owner, each orderable participant with
// their latest order and collected certificates, by participant id.
func (s *Server) apiOrders(w http.ResponseWriter, r *http.Request) {
	var (
		statuses map[int64]*model.OrderStatus
		now      time.Time
	)
	apiCaseList(s, w, r, func(ctx context.Context, caseID, accountID int64) ([]model.Participant, error) {
		var err error
		if statuses, err = s.deps.Orders.OrderStatuses(ctx, caseID, accountID); err != nil {
			return nil, err
		}
		people, err := s.deps.Members.Participants(ctx, caseID, accountID)
		if err != nil {
			return nil, err
		}
		var rows []model.Participant
		for _, pt := range people {
			if orderableRow(pt, statuses[pt.ID]) {
				rows = append(rows, pt)
			}
		}
		now = s.now()
		return rows, nil
	}, func(p model.Participant) int64 { return p.ID }, func(p model.Participant) apiOrderStatus {
		return orderStatusJSON(p, statuses[p.ID], now)
	})
}

// apiOrderTarget reads the case and the participant of an order route as
// the actor may see them, refusing (403) a participant who is not the
// case's owner before anything else, and (409) a participant Sceau orders
// no certificate for.
func (s *Server) apiOrderTarget(w http.ResponseWriter, r *http.Request) (*model.Case, *model.Participant, bool) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case", "participant")
	if !ok {
		return nil, nil, false
	}
	c, p, err := s.caseParticipant(r.Context(), ids[0], ids[1], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return nil, nil, false
	}
	if c.OwnerID != acc.ID {
		s.problem(w, r, http.StatusForbidden, "forbidden", "Seul l’expert de l’affaire commande les certificats des intervenants.",
			"Only the case's expert orders litigant certificates.")
		return nil, nil, false
	}
	if p.Role != string(rights.RolePartyMember) && p.Role != string(rights.RoleSapiteur) {
		s.notOrderable(w, r)
		return nil, nil, false
	}
	return c, p, true
}

func (s *Server) notOrderable(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, http.StatusConflict, "not-orderable",
		"Ce participant a son propre certificat professionnel, ou n’est plus actif : Sceau ne lui en commande pas.",
		"This participant has a professional certificate of their own, or is no longer active: Sceau orders none for them.")
}

func (s *Server) caseClosed(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, http.StatusConflict, "case-closed", "L’expertise est terminée : on ne commande plus de certificat.",
		"The case is finished: no more certificates are ordered.")
}

// apiOrderFields names the API's fields where newOrder names the form's.
var apiOrderFields = map[string]string{"display_name": "name", "order": "request_id"}

// apiPlaceOrder orders a litigant certificate for a participant (or
// re-issues it), exactly as the participants page's form does; the
// request_id is the form's nonce: the same request_id again answers the
// same order and code (200, replayed) and queues no second mail.
func (s *Server) apiPlaceOrder(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	_, p, ok := s.apiOrderTarget(w, r)
	if !ok {
		return
	}
	var req apiOrderRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	in := OrderInput{Name: req.Name, Email: req.Email, Phone: req.Phone, Nonce: req.RequestID}
	var errs model.ValidationErrors
	for _, v := range []struct {
		field    string
		src, dst *int
	}{{"validity_days", req.ValidityDays, &in.ValidityDays}, {"downloads", req.Downloads, &in.Downloads}, {"link_days", req.LinkDays, &in.LinkDays}} {
		if v.src == nil {
			continue
		}
		if *v.src < 1 { // 0 would mean "the default" to newOrder
			errs = append(errs, model.FieldError{Field: v.field, Message: "Indiquez un nombre entier positif."})
			continue
		}
		*v.dst = *v.src
	}
	o, more := s.newOrder(p, in)
	if errs = append(errs, more...); len(errs) > 0 {
		for i := range errs {
			if f, ok := apiOrderFields[errs[i].Field]; ok {
				errs[i].Field = f
			}
			if errs[i].Field == "request_id" {
				errs[i].Message = "request_id : de 16 à 64 caractères, un nouveau par commande (le même pour la renvoyer sans risque)."
			}
		}
		prob := newProblem(r, http.StatusUnprocessableEntity, "validation")
		prob.Detail, prob.DetailEN = "Certains champs de la commande sont invalides.", "Some fields of the order are invalid."
		prob.Errors = problemFields(errs)
		s.writeProblem(w, r, prob)
		return
	}
	order, code, again, err := s.placeOrder(r.Context(), acc.ID, o)
	switch {
	case errors.Is(err, model.ErrNotOrderable):
		s.notOrderable(w, r)
		return
	case errors.Is(err, model.ErrCaseClosed):
		s.caseClosed(w, r)
		return
	case errors.Is(err, model.ErrForbidden):
		// The owner was checked: the request_id placed someone else's order.
		s.problem(w, r, http.StatusConflict, "request-id-reused",
			"Ce request_id a déjà servi à une autre commande : choisissez-en un nouveau pour chaque commande.",
			"This request_id was already used for another order: use a new one for each order.")
		return
	case err != nil && readingStatus(err) != http.StatusServiceUnavailable:
		s.apiStoreError(w, r, err)
		return
	case err != nil:
		s.log.Error("API: ordering a certificate", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "service-unavailable", "", "")
		return
	}
	status := http.StatusCreated
	if again {
		status = http.StatusOK
	}
	s.writeJSON(w, r, status, apiPlacedOrder{apiOrderJSON: orderJSON(order, s.now()), CollectionCode: code, Replayed: again})
}

// apiRevokeOrders is the expert's "revoke": the participant's links stop
// working and the certificates collected for them are revoked (the
// revocation worker is woken at once). It answers the participant's
// status afterwards.
func (s *Server) apiRevokeOrders(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	c, p, ok := s.apiOrderTarget(w, r)
	if !ok {
		return
	}
	n, err := s.deps.Orders.CancelOrders(r.Context(), c.ID, acc.ID, p.ID)
	if err != nil {
		s.apiOrderActionFailed(w, r, err)
		return
	}
	s.log.Info("litigant certificates revoked", "case", c.ID, "participant", p.ID, "count", n)
	s.revocations.poke()
	s.apiParticipantOrders(w, r, c.ID, *p)
}

// apiRearmOrder unlocks the participant's order locked by wrong codes.
func (s *Server) apiRearmOrder(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	c, p, ok := s.apiOrderTarget(w, r)
	if !ok {
		return
	}
	if err := s.deps.Orders.RearmOrder(r.Context(), c.ID, acc.ID, p.ID); err != nil {
		if errors.Is(err, model.ErrNotFound) { // the participant was found: no open locked order
			s.problem(w, r, http.StatusConflict, "not-locked", "Ce participant n’a pas de retrait bloqué à débloquer.",
				"This participant has no locked collection to unlock.")
			return
		}
		s.apiOrderActionFailed(w, r, err)
		return
	}
	s.apiParticipantOrders(w, r, c.ID, *p)
}

// apiParticipantOrders answers one participant's order status.
func (s *Server) apiParticipantOrders(w http.ResponseWriter, r *http.Request, caseID int64, p model.Participant) {
	statuses, err := s.deps.Orders.OrderStatuses(r.Context(), caseID, AccountFrom(r.Context()).ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, orderStatusJSON(p, statuses[p.ID], s.now()))
}

func (s *Server) apiOrderActionFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, model.ErrCaseClosed):
		s.problem(w, r, http.StatusConflict, "case-closed", "L’expertise est terminée.", "The case is finished.")
	case readingStatus(err) != http.StatusServiceUnavailable:
		s.apiStoreError(w, r, err)
	default:
		s.log.Error("API: certificate order action", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "service-unavailable", "", "")
	}
}
