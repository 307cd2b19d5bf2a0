package portal

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/blobs"
	"sceau.fr/sceau/portal/model"
)

type apiDocumentJSON struct {
	ID           int64         `json:"id"`
	FolderID     int64         `json:"folder_id"`
	Kind         string        `json:"kind"`
	KindLabel    string        `json:"kind_label"`
	FileName     string        `json:"file_name"`
	ContentType  string        `json:"content_type,omitempty"`
	Size         int64         `json:"size"`
	SHA256       string        `json:"sha256"`
	PDFA         bool          `json:"pdfa"`
	CourtesyCopy *apiFile      `json:"courtesy_copy"`
	Depositor    apiDepositor  `json:"depositor"`
	DepositedAt  time.Time     `json:"deposited_at"`
	Unread       *bool         `json:"unread,omitempty"`
	Lock         *apiLockState `json:"lock"`
}

type apiFile struct {
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

type apiDepositor struct {
	ParticipantID int64  `json:"participant_id"`
	Name          string `json:"name,omitempty"`
}

type apiLockState struct {
	LockedAt time.Time `json:"locked_at"`
	Reason   string    `json:"reason"`
}

func documentJSON(d *model.Document, names map[int64]string) apiDocumentJSON {
	out := apiDocumentJSON{ID: d.ID, FolderID: d.FolderID, Kind: d.Kind, KindLabel: kindLabels[d.Kind], FileName: d.FileName,
		ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256, PDFA: d.PDFA,
		Depositor:   apiDepositor{ParticipantID: d.DepositorParticipantID, Name: names[d.DepositorParticipantID]},
		DepositedAt: d.DepositedAt.UTC()}
	if d.HasCopy() {
		out.CourtesyCopy = &apiFile{FileName: d.CopyFileName, Size: d.CopySize, SHA256: d.CopySHA256}
	}
	if d.LockedAt != nil {
		out.Lock = &apiLockState{LockedAt: d.LockedAt.UTC(), Reason: d.LockReason}
	}
	return out
}

func listedJSON(d ListedDocument, names map[int64]string) apiDocumentJSON {
	out := documentJSON(&d.Document, names)
	unread := d.Unread
	out.Unread = &unread
	return out
}

// apiReadable lists the documents this person may read in the case, with
// the depositors' names (the case page's query), answering errors itself.
func (s *Server) apiReadable(w http.ResponseWriter, r *http.Request, caseID int64) ([]ListedDocument, map[int64]string, bool) {
	acc := AccountFrom(r.Context())
	// The case first: an outsider gets the same 404 as for no such case.
	if _, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID); err != nil {
		s.apiStoreError(w, r, err)
		return nil, nil, false
	}
	byFolder, names, err := s.caseDocuments(r.Context(), caseID, acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return nil, nil, false
	}
	var docs []ListedDocument
	for _, ds := range byFolder {
		docs = append(docs, ds...)
	}
	return docs, names, true
}

// apiDocuments lists the readable documents of a case, optionally of one
// folder (?folder=ID); "unread" is this person's "nouveau" marker.
func (s *Server) apiDocuments(w http.ResponseWriter, r *http.Request) {
	caseID, p, ok := s.apiCasePage(w, r)
	if !ok {
		return
	}
	var folder int64
	if v := r.URL.Query().Get("folder"); v != "" {
		f, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.problem(w, r, http.StatusBadRequest, "bad-request", "Le paramètre folder doit être l’identifiant d’un dossier.", "The folder parameter must be a folder id.")
			return
		}
		folder = f
	}
	docs, names, ok := s.apiReadable(w, r, caseID)
	if !ok {
		return
	}
	if _, ok := s.caseViewed(w, r, caseID); !ok { // the case page's list, recorded the same way
		return
	}
	if folder != 0 {
		kept := docs[:0]
		for _, d := range docs {
			if d.FolderID == folder {
				kept = append(kept, d)
			}
		}
		docs = kept
	}
	s.writeJSON(w, r, http.StatusOK, paginate(docs, func(d ListedDocument) int64 { return d.ID },
		func(d ListedDocument) apiDocumentJSON { return listedJSON(d, names) }, p))
}

// apiDocument describes one readable document without opening it (the
// first opening is recorded by its download only).
func (s *Server) apiDocument(w http.ResponseWriter, r *http.Request) {
	ids, ok := s.apiIDs(w, r, "case", "doc")
	if !ok {
		return
	}
	docs, names, ok := s.apiReadable(w, r, ids[0])
	if !ok {
		return
	}
	for _, d := range docs {
		if d.ID == ids[1] {
			s.writeJSON(w, r, http.StatusOK, listedJSON(d, names))
			return
		}
	}
	s.problem(w, r, http.StatusNotFound, "not-found", "", "")
}

// apiDownload streams a document, recording the first opening exactly as
// the page's download does, with the same attachment headers.
func (s *Server) apiDownload(w http.ResponseWriter, r *http.Request) { s.apiSend(w, r, false) }

// apiDownloadCopy streams the courtesy copy; none is a 404.
func (s *Server) apiDownloadCopy(w http.ResponseWriter, r *http.Request) { s.apiSend(w, r, true) }

func (s *Server) apiSend(w http.ResponseWriter, r *http.Request, courtesyCopy bool) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case", "doc")
	if !ok {
		return
	}
	d, err := s.deps.Documents.OpenDocument(r.Context(), ids[0], ids[1], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	key, name := d.BlobKey, d.FileName
	if courtesyCopy {
		if !d.HasCopy() {
			s.problem(w, r, http.StatusNotFound, "not-found", "Ce document n’a pas de copie de courtoisie.", "This document has no courtesy copy.")
			return
		}
		key, name = *d.CopyBlobKey, d.CopyFileName
	}
	if err := s.serveBlob(w, r, d, key, name); err != nil {
		s.log.Error("opening a blob", "request_id", RequestID(r.Context()), "document", d.ID, "copy", courtesyCopy, "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "service-unavailable", "", "")
	}
}

type apiReceiptJSON struct {
	DocumentID   int64          `json:"document_id"`
	CaseID       int64          `json:"case_id"`
	CaseName     string         `json:"case_name"`
	RGNumber     string         `json:"rg_number"`
	FolderName   string         `json:"folder_name"`
	Kind         string         `json:"kind"`
	FileName     string         `json:"file_name"`
	ContentType  string         `json:"content_type,omitempty"`
	Size         int64          `json:"size"`
	SHA256       string         `json:"sha256"`
	PDFA         bool           `json:"pdfa"`
	CourtesyCopy *apiFile       `json:"courtesy_copy"`
	Depositor    apiReceiptWho  `json:"depositor"`
	Certificate  apiReceiptCert `json:"certificate"`
	DepositedAt  time.Time      `json:"deposited_at"`
}

type apiReceiptWho struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

type apiReceiptCert struct {
	Issuer string `json:"issuer"`
	Serial string `json:"serial"`
}

func receiptJSON(rc *model.Receipt) apiReceiptJSON {
	out := apiReceiptJSON{DocumentID: rc.DocumentID, CaseID: rc.CaseID, CaseName: rc.CaseName, RGNumber: rc.RGNumber,
		FolderName: rc.FolderName, Kind: rc.Kind, FileName: rc.FileName, ContentType: rc.ContentType, Size: rc.Size,
		SHA256: rc.SHA256, PDFA: rc.PDFA, Depositor: apiReceiptWho{Name: rc.DepositorName, Role: rc.DepositorRole},
		Certificate: apiReceiptCert{Issuer: rc.CertificateIssuer, Serial: rc.CertificateSerial}, DepositedAt: rc.DepositedAt.UTC()}
	if rc.CopyFileName != "" {
		out.CourtesyCopy = &apiFile{FileName: rc.CopyFileName, Size: rc.CopySize, SHA256: rc.CopySHA256}
	}
	return out
}

// apiReceipt is the receipt of a deposit, for anyone who may read the
// document (the receipt page's rule).
func (s *Server) apiReceipt(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case", "doc")
	if !ok {
		return
	}
	rc, err := s.deps.Documents.Receipt(r.Context(), ids[0], ids[1], acc.ID)
	if err != nil {
		s.apiStoreError(w, r, err)
		return
	}
	if !s.recordView(w, r, model.AuditDocumentView, ids[0], model.AuditObjects("document", ids[1])) { // as the receipt page
		return
	}
	s.writeJSON(w, r, http.StatusOK, receiptJSON(rc))
}

// apiDeposit records one file, streamed as the raw request body
// (Content-Type: application/octet-stream) into blob storage, hashed on
// the fly: ?kind= is the document kind, ?name= the file name,
// ?content_type= optionally the file's own type. Rights and the case's
// state are checked before a byte is read. The answer is the receipt,
// 201 with the document's URL in Location.
func (s *Server) apiDeposit(w http.ResponseWriter, r *http.Request) {
	acc, id := AccountFrom(r.Context()), IdentityFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case", "folder")
	if !ok {
		return
	}
	caseID, folderID := ids[0], ids[1]
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/octet-stream" {
		s.problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Envoyez le fichier tel quel comme corps de la requête, avec Content-Type: application/octet-stream.",
			"Send the file as the raw request body with Content-Type: application/octet-stream.")
		return
	}
	q := r.URL.Query()
	kind := q.Get("kind")
	var errs model.ValidationErrors
	if !model.ValidDocumentKind(kind) {
		errs = append(errs, model.FieldError{Field: "kind", Message: "Indiquez le type de document (kind) : " + strings.Join(model.DocumentKinds(), ", ") + "."})
	}
	name, err := model.SafeFileName(q.Get("name"))
	if err != nil {
		var v model.ValidationErrors
		if errors.As(err, &v) {
			errs = append(errs, v...)
		} else {
			errs = append(errs, model.FieldError{Field: "name", Message: "Indiquez un nom de fichier valide (name)."})
		}
	}
	if len(errs) > 0 {
		p := newProblem(r, http.StatusUnprocessableEntity, "validation")
		p.Detail, p.DetailEN, p.Errors = "La demande de dépôt est incomplète ou invalide. Aucun document n’a été enregistré.",
			"The deposit request is incomplete or invalid. No document was stored.", problemFields(errs)
		s.writeProblem(w, r, p)
		return
	}
	if err := s.depositAllowed(r.Context(), caseID, folderID, acc.ID); err != nil {
		s.apiDepositFailed(w, r, err)
		return
	}
	pending, pdfa, err := s.putFile(r.Context(), r.Body)
	if err != nil {
		s.apiDepositFailed(w, r, err)
		return
	}
	defer func() { _ = pending.Abort(context.WithoutCancel(r.Context())) }() // no-op once committed
	doc, err := s.recordDocument(r.Context(), caseID, folderID, acc.ID, newDocument(kind, name, q.Get("content_type"), pending, pdfa, id),
		[]*blobs.Pending{pending})
	if err != nil {
		s.apiDepositFailed(w, r, err)
		return
	}
	rc, err := s.deps.Documents.Receipt(r.Context(), caseID, doc.ID, acc.ID)
	if err != nil { // stored all the same: say where
		s.log.Error("API: reading a receipt after a deposit", "request_id", RequestID(r.Context()), "document", doc.ID, "err", err)
		rc = &model.Receipt{DocumentID: doc.ID, CaseID: caseID, Kind: doc.Kind, FileName: doc.FileName, ContentType: doc.ContentType,
			Size: doc.Size, SHA256: doc.SHA256, PDFA: doc.PDFA, CertificateIssuer: doc.CertificateIssuer,
			CertificateSerial: doc.CertificateSerial, DepositedAt: doc.DepositedAt}
	}
	w.Header().Set("Location", "/api/v1/cases/"+strconv.FormatInt(caseID, 10)+"/documents/"+strconv.FormatInt(doc.ID, 10))
	s.writeJSON(w, r, http.StatusCreated, receiptJSON(rc))
}

// apiDepositFailed answers a refused or failed deposit; nothing was stored.
func (s *Server) apiDepositFailed(w http.ResponseWriter, r *http.Request, err error) {
	const none, noneEN = "Aucun document n’a été enregistré.", "No document was stored."
	var (
		v   model.ValidationErrors
		mbe *http.MaxBytesError
	)
	switch {
	case errors.Is(err, model.ErrNotFound):
		s.problem(w, r, http.StatusNotFound, "not-found", "", "")
	case errors.Is(err, model.ErrForbidden):
		s.problem(w, r, http.StatusForbidden, "deposit-forbidden", "Vous ne pouvez pas déposer de document dans ce dossier. "+none,
			"You may not deposit into this folder. "+noneEN)
	case errors.Is(err, model.ErrStateConflict):
		s.problem(w, r, http.StatusConflict, "deposits-suspended", "L’expertise n’est pas en cours : les dépôts sont suspendus. "+none,
			"The case is not in progress: deposits are suspended. "+noneEN)
	case errors.Is(err, model.ErrCaseClosed):
		s.problem(w, r, http.StatusConflict, "case-closed", "L’expertise est terminée : plus aucun dépôt n’est possible. "+none,
			"The case is finished: no more deposits. "+noneEN)
	case errors.As(err, &v):
		p := newProblem(r, http.StatusUnprocessableEntity, "validation")
		p.Detail, p.DetailEN, p.Errors = none, noneEN, problemFields(v)
		s.writeProblem(w, r, p)
	case errors.Is(err, blobs.ErrTooLarge) || errors.As(err, &mbe):
		s.problem(w, r, http.StatusRequestEntityTooLarge, "file-too-large",
			"Le fichier dépasse la taille maximale de "+humanSize(s.maxUpload())+". "+none,
			"The file exceeds the limit of "+strconv.FormatInt(s.maxUpload(), 10)+" bytes. "+noneEN)
	case errors.Is(err, blobs.ErrStorageFull):
		s.log.Error("API deposit: storage full", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusInsufficientStorage, "insufficient-storage", "Le service ne peut pas enregistrer de fichier pour le moment. "+none,
			"The service cannot store files at the moment. "+noneEN)
	case errors.Is(err, blobs.ErrSource) || errors.Is(err, io.ErrUnexpectedEOF):
		s.log.Info("API deposit interrupted", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusBadRequest, "upload-interrupted", "Le fichier n’a pas été reçu en entier. "+none,
			"The file was not received in full. "+noneEN)
	default:
		s.log.Error("API deposit", "request_id", RequestID(r.Context()), "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "service-unavailable", none, noneEN)
	}
}

// apiLockRequest is the body of a lock.
type apiLockRequest struct {
	Reason string `json:"reason"`
}

// apiLock locks a document for good, with a reason (the case owner only).
func (s *Server) apiLock(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	ids, ok := s.apiIDs(w, r, "case", "doc")
	if !ok {
		return
	}
	var req apiLockRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	d, err := s.deps.Documents.LockDocument(r.Context(), ids[0], ids[1], acc.ID, strings.TrimSpace(req.Reason))
	var v model.ValidationErrors
	switch {
	case err == nil:
		s.log.Info("document locked", "case", ids[0], "document", ids[1], "by", acc.ID)
		s.writeJSON(w, r, http.StatusOK, documentJSON(d, nil))
	case errors.As(err, &v):
		p := newProblem(r, http.StatusUnprocessableEntity, "validation")
		p.Errors = problemFields(v)
		s.writeProblem(w, r, p)
	case errors.Is(err, model.ErrAlreadyLocked):
		s.problem(w, r, http.StatusConflict, "already-locked", "Ce document est déjà verrouillé : un verrouillage est définitif et sa raison ne change pas.",
			"This document is already locked: a lock is final and its reason does not change.")
	case errors.Is(err, model.ErrStateConflict):
		s.problem(w, r, http.StatusConflict, "state-conflict", "L’état actuel de l’expertise ne permet pas de verrouiller ce document.",
			"The case's current state does not allow locking this document.")
	default:
		s.apiStoreError(w, r, err)
	}
}

type apiContradictoireEntry struct {
	Document apiDocumentJSON `json:"document"`
	Opened   int             `json:"opened"`
	Total    int             `json:"total"`
	Readers  []apiReader     `json:"readers"`
}

type apiReader struct {
	ParticipantID int64      `json:"participant_id"`
	Name          string     `json:"name"`
	Role          string     `json:"role"`
	FirstOpenedAt *time.Time `json:"first_opened_at"`
}

// apiContradictoire is the contradictoire status: for each document, the
// active participants who may read it and when each first opened it. The
// case owner only (another participant: 403, anyone else: 404).
func (s *Server) apiContradictoire(w http.ResponseWriter, r *http.Request) {
	names := map[int64]string{}
	apiCaseList(s, w, r, func(ctx context.Context, caseID, accountID int64) ([]ContradictoireEntry, error) {
		entries, err := s.deps.Documents.Contradictoire(ctx, caseID, accountID)
		if err != nil {
			return nil, err
		}
		if s.deps.Members != nil {
			if ps, err := s.deps.Members.Participants(ctx, caseID, accountID); err == nil {
				for _, pt := range ps {
					names[pt.ID] = pt.DisplayName
				}
			}
		}
		return entries, nil
	}, func(e ContradictoireEntry) int64 { return e.Document.ID }, func(e ContradictoireEntry) apiContradictoireEntry {
		out := apiContradictoireEntry{Document: documentJSON(&e.Document, names), Total: len(e.Readers), Readers: []apiReader{}}
		for _, rd := range e.Readers {
			at := utcOrNil(rd.FirstOpenedAt)
			if at != nil {
				out.Opened++
			}
			out.Readers = append(out.Readers, apiReader{ParticipantID: rd.ParticipantID, Name: names[rd.ParticipantID], Role: rd.Role, FirstOpenedAt: at})
		}
		return out
	})
}
