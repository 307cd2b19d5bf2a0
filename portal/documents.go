package portal

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/certgate"
	"sceau.fr/sceau/portal/model"
)

// Documents is what deposits and downloads need from storage; rights are
// applied by its queries.
type Documents interface {
	CanDeposit(ctx context.Context, caseID, folderID, accountID int64) (bool, error)
	// FoldersDepositable is CanDeposit for every folder of the case at once.
	FoldersDepositable(ctx context.Context, caseID, accountID int64) ([]int64, error)
	CreateDocument(ctx context.Context, caseID, folderID, accountID int64, d *model.Document, commit func() error) (*model.Document, error)
	DocumentsReadable(ctx context.Context, caseID, accountID int64) ([]ListedDocument, error)
	OpenDocument(ctx context.Context, caseID, docID, accountID int64) (*model.Document, error)
	// OpenDocuments opens several documents at once (a ZIP), all or none.
	OpenDocuments(ctx context.Context, caseID int64, docIDs []int64, accountID int64) ([]*model.Document, error)
	Receipt(ctx context.Context, caseID, docID, accountID int64) (*model.Receipt, error)
	LockDocument(ctx context.Context, caseID, docID, actor int64, reason string) (*model.Document, error)
	Contradictoire(ctx context.Context, caseID, actor int64) ([]ContradictoireEntry, error)
	RemindUnopened(ctx context.Context, caseID, docID, actor int64, render Reminder) (int, error)
}

// ListedDocument is a document as listed to a participant: Unread until
// this participant first opens it.
type ListedDocument struct {
	model.Document
	Unread bool
}

// defaultMaxUpload is the per-file limit when the configuration sets none.
const defaultMaxUpload = 2 << 30

// uploadOverhead is what a deposit body may hold besides the file: the
// multipart boundaries, part headers and the kind field.
const uploadOverhead = 64 << 10

// depositPath matches the deposit route, which streams its body: it gets
// the upload limit instead of the generic one and carries its CSRF token
// in the URL or a header, never in a parsed form.
var depositPath = regexp.MustCompile(`^/affaires/[0-9]+/dossiers/[0-9]+/depot$`)

func isDeposit(r *http.Request) bool {
	return r.Method == http.MethodPost && depositPath.MatchString(r.URL.Path)
}

func (s *Server) maxUpload() int64 {
	if s.cfg.MaxUploadBytes > 0 {
		return s.cfg.MaxUploadBytes
	}
	return defaultMaxUpload
}

// csrfOf returns the token sent with a request: for a deposit from the
// X-CSRF-Token header or the "csrf" query parameter (the body is a stream
// read later, after this check); for any other form from the form body.
func csrfOf(r *http.Request) string {
	if isDeposit(r) {
		if h := r.Header.Get("X-CSRF-Token"); h != "" {
			return h
		}
		return r.URL.Query().Get("csrf")
	}
	return r.PostFormValue("csrf")
}

var kindLabels = map[string]string{
	model.DocOrdonnance: "Ordonnance", model.DocConvocation: "Convocation", model.DocNoteAuxParties: "Note aux parties",
	model.DocDire: "Dire", model.DocPiece: "Pièce", model.DocPreRapport: "Pré-rapport", model.DocRapportDefinitif: "Rapport définitif",
	model.DocAnnexe: "Annexe", model.DocDemandeRemuneration: "Demande de rémunération", model.DocAutre: "Autre",
}

func kindOptions() []option {
	var out []option
	for _, k := range model.DocumentKinds() {
		out = append(out, option{k, kindLabels[k]})
	}
	return out
}

func idVar(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	return id, err == nil
}

// caseAndDoc reads the case and document ids of the route, answering 404
// itself when one is malformed.
func (s *Server) caseAndDoc(w http.ResponseWriter, r *http.Request) (caseID, docID int64, ok bool) {
	caseID, ok1 := idVar(r, "case")
	docID, ok2 := idVar(r, "doc")
	if !ok1 || !ok2 {
		s.renderError(w, r, http.StatusNotFound)
		return 0, 0, false
	}
	return caseID, docID, true
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, title, msg, todo string) {
	s.renderPage(w, r, status, "refusal", refusalPage{Lang: "fr", RequestID: RequestID(r.Context()), Title: title, Message: msg, Todo: todo})
}

func (s *Server) refuseDeposit(w http.ResponseWriter, r *http.Request, err error) {
	var v model.ValidationErrors
	switch {
	case errors.Is(err, model.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound)
	case errors.Is(err, model.ErrForbidden):
		s.refuse(w, r, http.StatusForbidden, "Dépôt refusé", "Vous ne pouvez pas déposer de document dans ce dossier.",
			"Si vous pensez que c’est une erreur, contactez l’expert qui conduit l’expertise.")
	case errors.Is(err, model.ErrStateConflict):
		s.refuse(w, r, http.StatusConflict, "Dépôts suspendus", s.tr(r, "L’expertise n’est pas en cours : les dépôts sont suspendus.")+" "+s.notStored(r),
			"Recommencez lorsque l’expert aura repris l’expertise.")
	case errors.Is(err, model.ErrCaseClosed):
		s.refuse(w, r, http.StatusConflict, "Expertise close", s.tr(r, "L’expertise est terminée : plus aucun dépôt n’est possible.")+" "+s.notStored(r), "")
	case errors.As(err, &v):
		var msgs []string
		for _, e := range v {
			msgs = append(msgs, s.tr(r, e.Message))
		}
		s.refuse(w, r, http.StatusUnprocessableEntity, "Dépôt refusé", strings.Join(msgs, " "), s.notStored(r))
	default:
		s.log.Error("deposit", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
	}
}

// deposit streams one or several files into blob storage, each recorded
// in its own transaction. The body is read part by part (kind, then each
// file, each optionally followed by its courtesy copy "copie"), never
// parsed whole: every file goes straight to the blob store with the
// per-file limit, PDF/A being detected from its bytes on the way. Whatever
// fails, the pending blobs of the file being read are aborted and nothing
// more is recorded; files already recorded stay, and the refusal names
// them.
func (s *Server) deposit(w http.ResponseWriter, r *http.Request) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	caseID, ok1 := idVar(r, "case")
	folderID, ok2 := idVar(r, "folder")
	if !ok1 || !ok2 {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	// Refuse before reading a byte of the file when we already know.
	if err := s.depositAllowed(r.Context(), caseID, folderID, acc.ID); err != nil {
		s.refuseDeposit(w, r, err)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, "Envoi incorrect", "Le formulaire de dépôt n’a pas été reçu correctement.", "Revenez à la page de l’expertise et recommencez.")
		return
	}
	var pendings []*blobs.Pending
	defer func() { // no-op for the committed ones
		for _, p := range pendings {
			_ = p.Abort(context.WithoutCancel(r.Context()))
		}
	}()
	var (
		kind   string
		cur    *model.Document // the last file read, waiting for its copy
		commit []*blobs.Pending
		stored []*model.Document
		parts  int
		files  int
	)
	// flush records cur in its own transaction; earlier files stay.
	flush := func() error {
		if cur == nil {
			return nil
		}
		doc, err := s.recordDocument(r.Context(), caseID, folderID, acc.ID, cur, commit)
		if err != nil {
			return err
		}
		stored = append(stored, doc)
		cur, commit = nil, nil
		return nil
	}
	// fail answers err, naming the files already stored, if any.
	fail := func(err error, upload bool) {
		if len(stored) > 0 {
			var names []string
			for _, d := range stored {
				names = append(names, "« "+d.FileName+" »")
			}
			r = r.WithContext(context.WithValue(r.Context(), storedKey{}, strings.Join(names, ", ")))
		}
		if upload {
			s.uploadFailed(w, r, err)
		} else {
			s.refuseDeposit(w, r, err)
		}
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(err, true)
			return
		}
		if parts++; parts > maxDepositParts {
			fail(model.ValidationErrors{{Field: "file", Message: s.trf(r, "Un dépôt compte au plus %d fichiers.", maxDepositFiles)}}, false)
			return
		}
		switch p.FormName() {
		case "kind":
			b, err := io.ReadAll(io.LimitReader(p, 100))
			if err != nil {
				fail(err, true)
				return
			}
			kind = string(b)
		case "file", "copie":
			if p.FileName() == "" { // an empty file input
				continue
			}
			isCopy := p.FormName() == "copie"
			if isCopy && (cur == nil || cur.CopyBlobKey != nil) {
				fail(model.ValidationErrors{{Field: "copie", Message: "Une copie de courtoisie accompagne un fichier : envoyez-la juste après lui."}}, false)
				return
			}
			if !isCopy {
				if err := flush(); err != nil {
					fail(err, false)
					return
				}
				// The receipt lists at most this many: refuse more rather than
				// store files nobody is shown.
				if files++; files > maxDepositFiles {
					fail(model.ValidationErrors{{Field: "file", Message: s.trf(r, "Un dépôt compte au plus %d fichiers.", maxDepositFiles)}}, false)
					return
				}
				if !model.ValidDocumentKind(kind) {
					fail(model.ValidationErrors{{Field: "kind", Message: "Choisissez le type de document (avant le fichier dans le formulaire)."}}, false)
					return
				}
			}
			name, err := model.SafeFileName(p.FileName())
			if err != nil {
				fail(err, false)
				return
			}
			pending, pdfa, err := s.putFile(r.Context(), p)
			if err != nil {
				fail(err, true)
				return
			}
			pendings = append(pendings, pending)
			commit = append(commit, pending)
			if isCopy {
				key := pending.Key
				cur.CopyBlobKey, cur.CopyFileName, cur.CopySize, cur.CopySHA256 = &key, name, pending.Size, hex.EncodeToString(pending.SHA256[:])
				continue
			}
			cur = newDocument(kind, name, p.Header.Get("Content-Type"), pending, pdfa, id)
		}
	}
	if err := flush(); err != nil {
		fail(err, false)
		return
	}
	if len(stored) == 0 {
		s.uploadFailed(w, r, io.EOF)
		return
	}
	last := stored[len(stored)-1]
	to := "/affaires/" + strconv.FormatInt(caseID, 10) + "/documents/" + strconv.FormatInt(last.ID, 10) + "/recepisse"
	if len(stored) > 1 {
		var ids []string
		for _, d := range stored[:len(stored)-1] {
			ids = append(ids, strconv.FormatInt(d.ID, 10))
		}
		to += "?avec=" + strings.Join(ids, ",")
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// depositAllowed says whether the person may deposit into the folder now:
// nil, or why not (model.ErrNotFound, ErrCaseClosed, ErrStateConflict,
// ErrForbidden, or a storage error). Deposits check it before reading a
// byte of the file.
func (s *Server) depositAllowed(ctx context.Context, caseID, folderID, accountID int64) error {
	c, err := s.deps.Cases.Case(ctx, caseID, accountID)
	if err != nil {
		return err
	}
	if c.State != "in_progress" {
		if c.State == "finished" || c.State == "archived" {
			return model.ErrCaseClosed
		}
		return model.ErrStateConflict
	}
	can, err := s.deps.Documents.CanDeposit(ctx, caseID, folderID, accountID)
	if err != nil {
		return err
	}
	if !can {
		return model.ErrForbidden
	}
	return nil
}

// putFile streams one file into blob storage with the per-file limit; the
// store hashes (SHA-256) and measures it on the way, and PDF/A is
// detected from its bytes. Nothing is held whole in memory.
func (s *Server) putFile(ctx context.Context, body io.Reader) (*blobs.Pending, bool, error) {
	var scan pdfaScanner
	p, err := s.deps.Blobs.Put(ctx, io.TeeReader(body, &scan), s.maxUpload())
	if err != nil {
		return nil, false, err
	}
	return p, scan.PDFA(), nil
}

// newDocument describes a file just stored, deposited with the
// certificate id; a declared content type that is too long or holds
// control characters is dropped.
func newDocument(kind, name, ctype string, p *blobs.Pending, pdfa bool, id *certgate.Identity) *model.Document {
	if len(ctype) > 200 || !utf8.ValidString(ctype) || strings.ContainsFunc(ctype, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		ctype = ""
	}
	return &model.Document{Kind: kind, FileName: name, ContentType: ctype, Size: p.Size,
		SHA256: hex.EncodeToString(p.SHA256[:]), BlobKey: p.Key, PDFA: pdfa,
		CertificateIssuer: id.Issuer, CertificateSerial: id.Serial.String()}
}

// recordDocument records a deposited document in its own transaction,
// publishing its blobs (file, courtesy copy) just before it commits.
func (s *Server) recordDocument(ctx context.Context, caseID, folderID, accountID int64, d *model.Document, pending []*blobs.Pending) (*model.Document, error) {
	doc, err := s.deps.Documents.CreateDocument(ctx, caseID, folderID, accountID, d, func() error {
		for _, p := range pending {
			if err := p.Commit(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("document deposited", "case", caseID, "document", doc.ID, "size", doc.Size, "by", accountID)
	return doc, nil
}

// maxDepositFiles bounds the files of one deposit; each may bring its
// courtesy copy, and the kind is one more part.
const (
	maxDepositFiles = 20
	maxDepositParts = 2*maxDepositFiles + 4
)

// storedKey carries, into a refusal, the files of the same deposit that
// were stored before it failed.
type storedKey struct{}

// notStored tells what a failed deposit left: nothing, or the files
// recorded before the failure (in the language of r).
func (s *Server) notStored(r *http.Request) string {
	if names, ok := r.Context().Value(storedKey{}).(string); ok {
		return s.trf(r, "Ce fichier n’a pas été enregistré, ni les suivants ; les fichiers précédents du même dépôt l’ont été : %s.", names)
	}
	return s.tr(r, "Aucun document n’a été enregistré.")
}

// uploadFailed answers a body that could not be read or stored.
func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, blobs.ErrTooLarge) || errors.As(err, &mbe):
		s.refuse(w, r, http.StatusRequestEntityTooLarge, "Fichier trop volumineux",
			s.trf(r, "Le fichier dépasse la taille maximale de %s par fichier.", humanSize(s.maxUpload()))+" "+s.notStored(r),
			"Réduisez le fichier ou scindez-le en plusieurs documents, puis recommencez.")
	case errors.Is(err, blobs.ErrStorageFull):
		s.log.Error("deposit: storage full", "request_id", RequestID(r.Context()), "err", err)
		s.refuse(w, r, http.StatusInsufficientStorage, "Stockage plein", s.tr(r, "Le service ne peut pas enregistrer de fichier pour le moment.")+" "+s.notStored(r),
			"Réessayez plus tard ; si le problème persiste, prévenez l’administrateur de la plateforme.")
	case errors.Is(err, io.EOF):
		s.refuse(w, r, http.StatusBadRequest, "Aucun fichier", s.tr(r, "Le formulaire ne contenait pas de fichier.")+" "+s.notStored(r), "Choisissez un fichier et recommencez.")
	default:
		// The client stopped sending or sent a malformed body.
		s.log.Info("deposit interrupted", "request_id", RequestID(r.Context()), "err", err)
		s.refuse(w, r, http.StatusBadRequest, "Envoi interrompu", s.tr(r, "Le fichier n’a pas été reçu en entier.")+" "+s.notStored(r), "Vérifiez votre connexion et recommencez.")
	}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " Gio"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " Mio"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " Kio"
	}
	return strconv.FormatInt(n, 10) + " octets"
}

type receiptPage struct {
	Lang       string
	R          *model.Receipt
	Others     []otherReceipt // the other files of the same deposit
	Kind, Role string
	At, Size   string
}

// otherReceipt is another file of the same deposit, on a receipt.
type otherReceipt struct {
	ID                     int64
	FileName, Size, SHA256 string
	PDFA                   bool
}

// showReceipt shows the receipt of a deposit to anyone who may read the
// document.
func (s *Server) showReceipt(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, docID, ok := s.caseAndDoc(w, r)
	if !ok {
		return
	}
	rc, err := s.deps.Documents.Receipt(r.Context(), caseID, docID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	if !s.recordView(w, r, model.AuditDocumentView, caseID, model.AuditObjects("document", docID)) {
		return
	}
	// ?avec= lists the other files of a deposit of several; each is shown
	// only if this person may read it.
	var others []otherReceipt
	for i, v := range strings.Split(r.URL.Query().Get("avec"), ",") {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || i >= maxDepositFiles || id == docID {
			continue
		}
		if o, err := s.deps.Documents.Receipt(r.Context(), caseID, id, acc.ID); err == nil {
			others = append(others, otherReceipt{ID: o.DocumentID, FileName: o.FileName, Size: strconv.FormatInt(o.Size, 10) + " octets", SHA256: o.SHA256, PDFA: o.PDFA})
		}
	}
	s.renderPage(w, r, http.StatusOK, "document_receipt", receiptPage{Lang: "fr", R: rc, Others: others, Kind: kindLabels[rc.Kind],
		Role: participantRoleLabels[rc.DepositorRole], At: rc.DepositedAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04:05 (heure de Paris)")),
		Size: strconv.FormatInt(rc.Size, 10) + " octets"})
}

// download records the first opening, then sends the file as an
// attachment that no browser renders from Sceau's origin: a generic type,
// nosniff and a sandboxing CSP whatever the declared type.
func (s *Server) download(w http.ResponseWriter, r *http.Request) { s.sendDocument(w, r, false) }

// downloadCopy sends the courtesy copy of a document, with the same
// headers; a document without one is a 404.
func (s *Server) downloadCopy(w http.ResponseWriter, r *http.Request) { s.sendDocument(w, r, true) }

func (s *Server) sendDocument(w http.ResponseWriter, r *http.Request, courtesyCopy bool) {
	acc := AccountFrom(r.Context())
	caseID, docID, ok := s.caseAndDoc(w, r)
	if !ok {
		return
	}
	d, err := s.deps.Documents.OpenDocument(r.Context(), caseID, docID, acc.ID)
	if s.readingFailed(w, r, err) {
		return
	}
	key, name := d.BlobKey, d.FileName
	if courtesyCopy {
		if !d.HasCopy() {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
		key, name = *d.CopyBlobKey, d.CopyFileName
	}
	if err := s.serveBlob(w, r, d, key, name); err != nil {
		s.log.Error("opening a blob", "document", d.ID, "copy", courtesyCopy, "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
	}
}

// serveBlob sends a document's blob (its file or courtesy copy) as an
// attachment that no browser renders from Sceau's origin: a generic type,
// nosniff and a sandboxing CSP whatever the declared type. Ranges and
// conditional requests work. It returns the error of opening the blob,
// before anything is written.
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, d *model.Document, key, name string) error {
	f, _, err := s.deps.Blobs.Open(r.Context(), key)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", d.DepositedAt.Truncate(time.Second), f)
	return nil
}

// contentDisposition is an attachment header with an ASCII fallback name
// and the exact UTF-8 name (RFC 6266, RFC 5987).
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + ascii + `"; filename*=UTF-8''` + rfc5987(name)
}

// rfc5987 percent-encodes everything but attr-char.
func rfc5987(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// depositURL is the form action, with the CSRF token in the query: the
// upload is a stream, whose form fields are not parsed before the check.
func depositURL(caseID, folderID int64, csrf string) string {
	return "/affaires/" + strconv.FormatInt(caseID, 10) + "/dossiers/" + strconv.FormatInt(folderID, 10) + "/depot?csrf=" + url.QueryEscape(csrf)
}
