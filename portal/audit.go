package portal

import (
	"context"
	"encoding/csv"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
)

// Audit is what the portal needs from the audit trail. Actions that
// change something are recorded by the store itself, in their own
// transaction, from the actor the middleware puts in the request context
// (withActor); the portal records only what has no transaction of its own
// (refusals at the gate, page views) and reads a case's journal.
type Audit interface {
	RecordAudit(ctx context.Context, e *model.AuditEntry) error
	// RecordCaseView records a view of the case page and says what the
	// account may do with its journal.
	RecordCaseView(ctx context.Context, caseID, accountID int64) (model.JournalAccess, error)
	// CaseAudit returns the case's trail to those the rights allow
	// (ErrForbidden for other participants, ErrNotFound for anyone else),
	// recording the reading; limit > 0 keeps the most recent entries.
	CaseAudit(ctx context.Context, caseID, accountID int64, export bool, limit int) ([]model.AuditRow, error)
}

// withActor puts who acts into the context, for the audit entries the
// store writes: the certificate admitted by the gate, the client's IP and
// the request id; acc, once known, its account.
func withActor(ctx context.Context, r *http.Request, id *certgate.Identity, acc *model.Account) context.Context {
	a := &model.Actor{IP: clientIPOf(r), RequestID: RequestID(ctx)}
	if prev := model.ActorFrom(ctx); prev != nil {
		*a = *prev
	}
	if id != nil {
		a.CertIssuer = id.Issuer
		if id.Serial != nil {
			a.CertSerial = id.Serial.String()
		}
	}
	if acc != nil {
		a.AccountID = acc.ID
	}
	return model.WithActor(ctx, a)
}

// remoteIP is the IP of the TCP peer (behind a trusted proxy, the proxy:
// see clientIP).
func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// refusalRecordTTL: the same refusal (address, reason, certificate) is
// recorded once per this delay, so that a browser retrying, or its
// favicon, does not fill the trail.
const refusalRecordTTL = time.Minute

// recordRefusal writes a refusal at the gate to the trail. The refusal
// page is shown whatever happens: a failure is logged.
func (s *Server) recordRefusal(r *http.Request, ref *certgate.Refusal) {
	if s.deps.Audit == nil {
		return
	}
	detail := ref.Kind.String()
	if ref.Domain != "" {
		detail += " (" + ref.Domain + ")"
	}
	s.recordGateRefusal(r, ref.Issuer, serialString(ref), nil, detail)
}

// recordGateRefusal records a refusal of a certificate (issuer, serial) or
// of the account behind it, once per refusalRecordTTL for the same
// address, certificate and reason.
func (s *Server) recordGateRefusal(r *http.Request, issuer, serial string, accountID *int64, detail string) {
	if s.deps.Audit == nil {
		return
	}
	ip := clientIPOf(r)
	key := ip + "|" + detail + "|" + issuer + "|" + serial
	now := s.now()
	if _, seen := s.auditRefusals.get(key, now); seen {
		return
	}
	s.auditRefusals.put(key, struct{}{}, now)
	e := &model.AuditEntry{Action: model.AuditGateRefusal, AccountID: accountID, CertIssuer: issuer, CertSerial: serial, IP: ip,
		RequestID: RequestID(r.Context()), Detail: detail}
	if err := s.deps.Audit.RecordAudit(r.Context(), e); err != nil {
		s.log.Error("recording a refusal in the audit trail", "request_id", RequestID(r.Context()), "err", err)
	}
}

// recordView records a page view; when that fails the page must not be
// served: it answers 503 and reports false.
func (s *Server) recordView(w http.ResponseWriter, r *http.Request, action string, caseID int64, objects string) bool {
	if s.deps.Audit == nil {
		return true
	}
	acc := AccountFrom(r.Context())
	e := &model.AuditEntry{Action: action, CaseID: &caseID, Objects: objects}
	if acc != nil {
		e.AccountID = &acc.ID
	}
	if err := s.deps.Audit.RecordAudit(r.Context(), e); err != nil {
		s.log.Error("recording a view in the audit trail", "request_id", RequestID(r.Context()), "action", action, "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return false
	}
	return true
}

// caseViewed records a view of the case page and returns the journal
// rights; false when the page must not be served (answered already).
func (s *Server) caseViewed(w http.ResponseWriter, r *http.Request, caseID int64) (model.JournalAccess, bool) {
	if s.deps.Audit == nil {
		return model.JournalAccess{}, true
	}
	j, err := s.deps.Audit.RecordCaseView(r.Context(), caseID, AccountFrom(r.Context()).ID)
	if err != nil {
		s.readingFailed(w, r, err)
		return j, false
	}
	return j, true
}

// auditActionLabels name the actions in French on the journal.
var auditActionLabels = map[string]string{
	model.AuditLogin: "Connexion", model.AuditGateRefusal: "Refus à l’entrée", model.AuditAccountRegister: "Création de compte",
	model.AuditAccountSuspend: "Compte suspendu", model.AuditAccountReactivate: "Compte réactivé", model.AuditTermsAccept: "Conditions acceptées",
	model.AuditCertLinkRequest: "Lien d’ajout de certificat envoyé", model.AuditCertLinkUse: "Certificat ajouté", model.AuditCertRemove: "Certificat retiré",
	model.AuditCaseCreate: "Création de l’expertise", model.AuditCaseEdit: "Modification de l’expertise", model.AuditCaseView: "Consultation de l’expertise",
	model.AuditCaseState: "Changement d’état", model.AuditJournalView: "Consultation du journal", model.AuditJournalExport: "Export du journal",
	model.AuditPartyAdd: "Ajout d’une partie", model.AuditParticipantAdd: "Ajout d’un participant", model.AuditParticipantActive: "Participant réactivé",
	model.AuditParticipantInactive: "Participant désactivé", model.AuditFolderAdd: "Ajout d’un dossier", model.AuditDeposit: "Dépôt",
	model.AuditDocumentView: "Consultation d’un récépissé", model.AuditDocumentDownload: "Téléchargement", model.AuditDocumentZip: "Téléchargement groupé (ZIP)",
	model.AuditDocumentLock: "Verrouillage", model.AuditDocumentRemind: "Relance", model.AuditCertificateOrder: "Commande de certificat",
	model.AuditCertificateCollect: "Retrait de certificat", model.AuditCodeAccepted: "Code de retrait accepté",
	model.AuditCodeRefused: "Code de retrait refusé", model.AuditCertificateRevoke: "Révocation de certificat",
	model.AuditOrderRearm: "Commande débloquée", model.AuditCertificateLost: "Certificat déclaré perdu",
	model.AuditCertificateCARev: "Certificat révoqué par l’autorité", model.AuditCertificateExpiry: "Avis d’expiration de certificat",
	model.AuditStorageVerify: "Contrôle d’intégrité des fichiers",
}

func auditActionLabel(a string) string {
	if l, ok := auditActionLabels[a]; ok {
		return l
	}
	return a
}

// journalLimit is how many entries, the most recent, the journal page
// shows; the CSV export has them all.
const journalLimit = 1000

type journalPage struct {
	Lang    string
	Case    *model.Case
	Export  bool
	Limited bool
	Entries []journalRow
}

type journalRow struct {
	Seq                                       int64
	At, Action, Who, Certificate, IP, Objects string
	Detail                                    string
}

// showJournal shows the case's audit trail to those entitled (see
// rights.CanReadJournal): another participant gets 403, anyone else 404.
func (s *Server) showJournal(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	rows, err := s.deps.Audit.CaseAudit(r.Context(), caseID, acc.ID, false, journalLimit)
	if s.readingFailed(w, r, err) {
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	p := journalPage{Lang: "fr", Case: c, Export: c.OwnerID == acc.ID, Limited: len(rows) == journalLimit}
	for i := len(rows) - 1; i >= 0; i-- { // most recent first
		e := rows[i]
		row := journalRow{Seq: e.Seq, At: e.At.In(paris).Format("02/01/2006 15:04:05"), Action: auditActionLabel(e.Action),
			Who: e.AccountName, IP: e.IP, Objects: e.Objects, Detail: e.Detail}
		if e.CertSerial != "" {
			row.Certificate = "n° " + e.CertSerial
		}
		p.Entries = append(p.Entries, row)
	}
	s.renderPage(w, r, http.StatusOK, "case_journal", p)
}

// exportJournal sends the case's whole trail as CSV (UTF-8 with a BOM, so
// that spreadsheets read the accents), to the owner only.
func (s *Server) exportJournal(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	rows, err := s.deps.Audit.CaseAudit(r.Context(), caseID, acc.ID, true, 0)
	if s.readingFailed(w, r, err) {
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="journal-`+safeRG(c.RGNumber)+`.csv"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"seq", "horodatage_utc", "heure_paris", "action", "libelle", "compte_id", "compte", "certificat_emetteur",
		"certificat_serie", "ip", "requete", "objets", "detail", "hash_precedent", "hash"})
	for _, e := range rows {
		account := ""
		if e.AccountID != nil {
			account = strconv.FormatInt(*e.AccountID, 10)
		}
		_ = cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
			e.At.In(paris).Format("02/01/2006 15:04:05"), e.Action, auditActionLabel(e.Action), account, csvCell(e.AccountName),
			csvCell(e.CertIssuer), csvCell(e.CertSerial), csvCell(e.IP), e.RequestID, e.Objects, csvCell(e.Detail), e.PrevHash, e.Hash})
	}
	cw.Flush()
}

// csvCell defuses a cell a spreadsheet would run as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
