package portal

import (
	"archive/zip"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// ContradictoireEntry is one document of the contradictoire view: the
// active participants who may read it, and when each first opened it.
type ContradictoireEntry struct {
	Document model.Document
	Readers  []DocumentReader
}

// DocumentReader is a participant who may read a document; FirstOpenedAt
// is nil until they open it.
type DocumentReader struct {
	ParticipantID int64
	AccountID     *int64
	Role          string
	FirstOpenedAt *time.Time
}

// Reminder renders the reminder mails about a document; the store queues
// them in the outbox in the transaction that picks the recipients.
type Reminder func(c *model.Case, d *model.Document, to []model.Recipient) ([]*model.OutboxMessage, error)

func caseURL(caseID int64) string { return "/affaires/" + strconv.FormatInt(caseID, 10) }

type contradictoirePage struct {
	Lang, CSRF string
	Case       *model.Case
	Notice     string
	Documents  []contradictoireRow
}

type contradictoireRow struct {
	ID                  int64
	Name, Depositor, At string
	Opened, Total       int
	Readers             []readerRow
	Unopened            int // readers other than the expert who have not opened it
}

type readerRow struct {
	Name, Role, OpenedAt string
}

// showContradictoire shows the owner who has opened each document and who
// has not yet. Another participant gets 403, anyone else 404.
func (s *Server) showContradictoire(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	entries, err := s.deps.Documents.Contradictoire(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	names := map[int64]string{}
	if s.deps.Members != nil {
		if ps, err := s.deps.Members.Participants(r.Context(), caseID, acc.ID); err == nil {
			for _, p := range ps {
				names[p.ID] = p.DisplayName
			}
		}
	}
	p := contradictoirePage{Lang: "fr", CSRF: s.csrfToken(IdentityFrom(r.Context())), Case: c}
	if n, err := strconv.Atoi(r.URL.Query().Get("relances")); err == nil && n >= 0 {
		if n == 0 {
			p.Notice = "Aucune relance envoyée : tous les participants concernés ont déjà ouvert ce document (ou n’ont pas d’adresse)."
		} else {
			p.Notice = s.trf(r, "%d relance(s) envoyée(s).", n)
		}
	}
	for _, e := range entries {
		row := contradictoireRow{ID: e.Document.ID, Name: e.Document.FileName, Depositor: names[e.Document.DepositorParticipantID],
			At: e.Document.DepositedAt.In(paris).Format("02/01/2006 15:04"), Total: len(e.Readers)}
		for _, rd := range e.Readers {
			rr := readerRow{Name: names[rd.ParticipantID], Role: participantRoleLabels[rd.Role]}
			if rd.FirstOpenedAt != nil {
				row.Opened++
				rr.OpenedAt = rd.FirstOpenedAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04"))
			} else if rd.AccountID == nil || *rd.AccountID != acc.ID {
				row.Unopened++
			}
			row.Readers = append(row.Readers, rr)
		}
		p.Documents = append(p.Documents, row)
	}
	s.renderPage(w, r, http.StatusOK, "case_contradictoire", p)
}

// readingFailed answers a store error of the reading pages; it reports
// whether it did.
func (s *Server) readingFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	status := readingStatus(err)
	if status == http.StatusServiceUnavailable {
		s.log.Error("reading a case", "request_id", RequestID(r.Context()), "err", err)
	}
	s.renderError(w, r, status)
	return true
}

// readingStatus is the answer to a store error when reading a case: 404
// (no such case or document, or not a participant), 403 (a participant
// without this right), 503 otherwise (the database failed).
func readingStatus(err error) int {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, model.ErrForbidden):
		return http.StatusForbidden
	}
	return http.StatusServiceUnavailable
}

// remind queues a reminder about a document to the participants who have
// not opened it yet, then goes back to the contradictoire view.
func (s *Server) remind(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, docID, ok := s.caseAndDoc(w, r)
	if !ok {
		return
	}
	render := func(c *model.Case, d *model.Document, to []model.Recipient) ([]*model.OutboxMessage, error) {
		var msgs []*model.OutboxMessage
		for _, rc := range to {
			m, err := mail.Compose(s.deps.Templates, "reminder", rc.Email, rc.Name, map[string]any{
				"Name": rc.Name, "Case": c.Name, "RG": c.RGNumber, "Document": d.FileName, "Kind": kindLabels[d.Kind],
				"At": d.DepositedAt.In(paris).Format("02/01/2006 à 15:04"), "By": acc.DisplayName,
				"Link": s.cfg.PortalURL + caseURL(c.ID),
			})
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m)
		}
		return msgs, nil
	}
	n, err := s.deps.Documents.RemindUnopened(r.Context(), caseID, docID, acc.ID, render)
	if s.readingFailed(w, r, err) {
		return
	}
	s.log.Info("reminder queued", "case", caseID, "document", docID, "mails", n, "by", acc.ID)
	http.Redirect(w, r, caseURL(caseID)+"/contradictoire?relances="+strconv.Itoa(n)+"#document-"+strconv.FormatInt(docID, 10), http.StatusSeeOther)
}

// lockDocument locks a document for good, with the reason typed; an empty
// reason brings the case page back with the message next to the field.
func (s *Server) lockDocument(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, docID, ok := s.caseAndDoc(w, r)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("lock_reason"))
	_, err := s.deps.Documents.LockDocument(r.Context(), caseID, docID, acc.ID, reason)
	var v model.ValidationErrors
	switch {
	case err == nil:
		s.log.Info("document locked", "case", caseID, "document", docID, "by", acc.ID)
		http.Redirect(w, r, caseURL(caseID), http.StatusSeeOther)
	case errors.As(err, &v):
		s.renderCase(w, r, caseID, http.StatusUnprocessableEntity, func(d *documentRow) {
			if d.ID == docID {
				d.LockError, d.LockValue = v.For("lock_reason"), reason
			}
		})
	case errors.Is(err, model.ErrAlreadyLocked):
		s.refuse(w, r, http.StatusConflict, "Document déjà verrouillé", "Ce document est déjà verrouillé : un verrouillage est définitif et sa raison ne change pas.", "")
	case errors.Is(err, model.ErrStateConflict):
		s.refuse(w, r, http.StatusConflict, "Verrouillage impossible", "L’état actuel de l’expertise ne permet pas de verrouiller ce document.", "")
	default:
		s.readingFailed(w, r, err)
	}
}

// maxZipDocuments bounds the documents of one archive.
const maxZipDocuments = 1000

// downloadZip streams several documents as one ZIP archive, built on the
// fly: every document asked for must be readable (one that is not, or of
// another case, makes the whole request a 404 before a byte is sent); all
// are opened through OpenDocuments (first openings and one audit entry
// recorded), then copied blob by blob into the archive, so memory stays
// flat.
func (s *Server) downloadZip(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, ok := idVar(r, "case")
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	readable, err := s.deps.Documents.DocumentsReadable(r.Context(), caseID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	byID := make(map[int64]bool, len(readable))
	for _, d := range readable {
		byID[d.ID] = true
	}
	q := r.URL.Query()
	var want []int64
	if f := q.Get("dossier"); f != "" {
		folderID, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
		for _, d := range readable {
			if d.FolderID == folderID {
				want = append(want, d.ID)
			}
		}
	} else {
		seen := map[int64]bool{}
		for _, v := range q["ids"] {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !byID[id] {
				s.renderError(w, r, http.StatusNotFound)
				return
			}
			if !seen[id] {
				seen[id] = true
				want = append(want, id)
			}
		}
	}
	if len(want) == 0 {
		s.refuse(w, r, http.StatusBadRequest, "Aucun document", "Aucun document lisible n’a été choisi pour l’archive.", "Choisissez au moins un document.")
		return
	}
	if len(want) > maxZipDocuments {
		s.refuse(w, r, http.StatusBadRequest, "Trop de documents", s.trf(r, "Une archive contient au plus %d documents.", maxZipDocuments), "Téléchargez les documents en plusieurs fois.")
		return
	}
	docs, err := s.deps.Documents.OpenDocuments(r.Context(), caseID, want, acc.ID) // one transaction, one audit entry
	if s.readingFailed(w, r, err) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="expertise-`+safeRG(c.RGNumber)+`.zip"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	zw := zip.NewWriter(w)
	names := map[string]bool{}
	for _, d := range docs {
		if err := s.zipEntry(r, zw, d, uniqueName(names, d.FileName)); err != nil {
			// The response has begun: break it rather than end it as if complete.
			s.log.Error("writing a zip archive", "request_id", RequestID(r.Context()), "document", d.ID, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	if err := zw.Close(); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// zipEntry copies one blob into the archive.
func (s *Server) zipEntry(r *http.Request, zw *zip.Writer, d *model.Document, name string) error {
	f, _, err := s.deps.Blobs.Open(r.Context(), d.BlobKey)
	if err != nil {
		return err
	}
	defer f.Close()
	method := zip.Deflate
	if compressedExt[strings.ToLower(path.Ext(name))] {
		method = zip.Store
	}
	ew, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: d.DepositedAt.In(paris)})
	if err != nil {
		return err
	}
	_, err = io.Copy(ew, f)
	return err
}

// compressedExt are formats already compressed: stored as they are.
var compressedExt = map[string]bool{".pdf": true, ".zip": true, ".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true,
	".docx": true, ".xlsx": true, ".pptx": true, ".odt": true, ".ods": true, ".odp": true, ".gz": true, ".7z": true, ".rar": true,
	".mp3": true, ".mp4": true, ".mov": true, ".heic": true}

// uniqueName cleans a file name for an archive entry (no path, no control
// or bidi characters) and makes it unique in the archive: "a.pdf",
// "a (2).pdf", "a (3).pdf"…
func uniqueName(used map[string]bool, name string) string {
	clean, err := model.SafeFileName(name)
	if err != nil {
		clean = "document"
	}
	ext := path.Ext(clean)
	if ext == clean {
		ext = ""
	}
	base := strings.TrimSuffix(clean, ext)
	out := clean
	for i := 2; used[strings.ToLower(out)]; i++ {
		out = base + " (" + strconv.Itoa(i) + ")" + ext
	}
	used[strings.ToLower(out)] = true
	return out
}

// safeRG turns a RG number into a file name part: letters, digits, "-"
// and "_" only.
func safeRG(rg string) string {
	var b strings.Builder
	for _, r := range rg {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if out := strings.Trim(b.String(), "-"); out != "" {
		return out
	}
	return "sans-rg"
}

// canLock reports whether the person may lock documents of the case now.
func canLock(c *model.Case, acc *model.Account) bool {
	return c.OwnerID == acc.ID && rights.CanLock(rights.Subject{Role: rights.RoleExpert, Active: true}, rights.CaseState(c.State))
}
