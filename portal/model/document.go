package model

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrAlreadyLocked says the document is already locked: a lock is
// irreversible and is never replaced.
var ErrAlreadyLocked = errors.New("the document is already locked")

// Document kinds (what a deposited document is).
const (
	DocOrdonnance          = "ordonnance"
	DocConvocation         = "convocation"
	DocNoteAuxParties      = "note_aux_parties"
	DocDire                = "dire"
	DocPiece               = "piece"
	DocPreRapport          = "pre_rapport"
	DocRapportDefinitif    = "rapport_definitif"
	DocAnnexe              = "annexe"
	DocDemandeRemuneration = "demande_remuneration"
	DocAutre               = "autre"
)

// DocumentKinds lists every document kind, in the order of the deposit form.
func DocumentKinds() []string {
	return []string{DocOrdonnance, DocConvocation, DocNoteAuxParties, DocDire, DocPiece,
		DocPreRapport, DocRapportDefinitif, DocAnnexe, DocDemandeRemuneration, DocAutre}
}

// ValidDocumentKind reports whether k is a known document kind.
func ValidDocumentKind(k string) bool { return slices.Contains(DocumentKinds(), k) }

// Document is a file deposited in a folder of a case. Documents are
// append-only: no code path deletes one or changes what was deposited;
// the owning expert may only lock one (irreversibly, with a reason).
type Document struct {
	ID       int64 `gorm:"primaryKey"`
	CaseID   int64
	FolderID int64
	Kind     string // one of DocumentKinds
	// FileName is the display name, as SafeFileName made it. It never
	// reaches a storage path (BlobKey is random).
	FileName string
	// ContentType is the type the depositor's browser declared; it is
	// never trusted to serve the file inline.
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"` // hex, lowercase
	BlobKey     string // key in package blobs
	// PDFA says the file itself claims PDF/A conformance.
	PDFA bool `gorm:"column:pdfa"`
	// The optional courtesy copy in the original format: CopyBlobKey is
	// nil without one, and the other Copy* fields are then empty.
	CopyBlobKey  *string
	CopyFileName string
	CopySize     int64
	CopySHA256   string `gorm:"column:copy_sha256"`
	// Who deposited it, and with which certificate.
	DepositorParticipantID int64
	DepositorAccountID     int64
	CertificateIssuer      string
	CertificateSerial      string
	// DepositedAt is the time of the deposit, set by the store: the time
	// shown on the receipt.
	DepositedAt time.Time
	// The lock, nil/empty until the expert locks the document.
	LockedAt   *time.Time
	LockReason string
	LockedBy   *int64 // the account of the expert who locked it
}

// TableName is the documents table.
func (Document) TableName() string { return "documents" }

// Locked reports whether the expert locked the document.
func (d *Document) Locked() bool { return d.LockedAt != nil }

// HasCopy reports whether a courtesy copy is attached.
func (d *Document) HasCopy() bool { return d.CopyBlobKey != nil }

var (
	hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Validate checks a document about to be deposited: the kind chosen in
// the form, the file names (which must already be what SafeFileName
// returns) and the blob fields. The store sets the case, folder,
// depositor and dates.
func (d *Document) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	if !ValidDocumentKind(d.Kind) {
		add("kind", "Choisissez le type de document.")
	}
	if n, err := SafeFileName(d.FileName); err != nil || n != d.FileName {
		add("file_name", fileNameMessage)
	}
	line("content_type", d.ContentType, false, 200, add)
	if d.Size < 0 || !hex64.MatchString(d.SHA256) || !hex32.MatchString(d.BlobKey) {
		add("file", "Le fichier n’a pas été reçu correctement.")
	}
	if d.CopyBlobKey != nil {
		if n, err := SafeFileName(d.CopyFileName); err != nil || n != d.CopyFileName {
			add("copy_file_name", fileNameMessage)
		}
		if d.CopySize < 0 || !hex64.MatchString(d.CopySHA256) || !hex32.MatchString(*d.CopyBlobKey) {
			add("copy", "La copie de courtoisie n’a pas été reçue correctement.")
		}
	} else if d.CopyFileName != "" || d.CopySize != 0 || d.CopySHA256 != "" {
		add("copy", "La copie de courtoisie n’a pas été reçue correctement.")
	}
	line("certificate_issuer", d.CertificateIssuer, false, 1000, add)
	line("certificate_serial", d.CertificateSerial, false, 200, add)
	if len(v) > 0 {
		return v
	}
	return nil
}

// DocumentOpening records the first time a participant opened a document.
// There is at most one per document and participant; its date never
// changes.
type DocumentOpening struct {
	DocumentID    int64 `gorm:"primaryKey;autoIncrement:false"`
	ParticipantID int64 `gorm:"primaryKey;autoIncrement:false"`
	CaseID        int64
	FirstOpenedAt time.Time
}

// TableName is the document openings table.
func (DocumentOpening) TableName() string { return "document_openings" }

// LockReasonMax is the longest lock reason.
const LockReasonMax = 500

// ValidateLockReason checks the reason the expert gives for a lock.
func ValidateLockReason(reason string) error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	line("lock_reason", reason, true, LockReasonMax, add)
	if len(v) > 0 {
		return v
	}
	return nil
}

// FileNameMax is the longest display file name, in bytes of UTF-8.
const FileNameMax = 200

// extMax is the longest extension SafeFileName keeps when it shortens a
// name; a longer "extension" is just part of the name.
const extMax = 20

const fileNameMessage = "Ce nom de fichier n’est pas valide : renommez le fichier (des lettres ou des chiffres, pas seulement des points) et recommencez."

// SafeFileName turns the name a client sent for a file into a display
// name: it keeps the last path component (after any "/" or "\"), drops
// invalid UTF-8, control characters (NUL included) and Unicode bidi
// controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), trims
// dots and spaces at both ends, and shortens it to FileNameMax bytes,
// keeping its extension. A name left empty (only dots, only a path…) is
// refused with a French ValidationErrors on field "file_name".
//
// The display name never reaches a storage path; it is what users see and
// what a download proposes.
func SafeFileName(name string) (string, error) {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\uFEFF' {
			return -1
		}
		return r
	}, name)
	// The last non-empty path component.
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	name = ""
	if len(parts) > 0 {
		name = parts[len(parts)-1]
	}
	name = trimName(name)
	if name == "" {
		return "", ValidationErrors{{"file_name", fileNameMessage}}
	}
	if len(name) > FileNameMax {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= extMax && !strings.ContainsFunc(name[i:], unicode.IsSpace) {
			ext = name[i:]
		}
		base := name[:len(name)-len(ext)]
		base = truncateUTF8(base, FileNameMax-len(ext))
		name = trimName(base) + ext
	}
	return name, nil
}

// trimName trims dots and spaces at both ends.
func trimName(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Receipt is what the receipt of a deposit shows.
type Receipt struct {
	DocumentID  int64
	CaseID      int64
	CaseName    string
	RGNumber    string
	FolderName  string
	Kind        string
	FileName    string
	ContentType string
	Size        int64
	SHA256      string
	PDFA        bool
	// The courtesy copy, if any.
	CopyFileName string
	CopySize     int64
	CopySHA256   string
	// The depositor: name and participant role in the case.
	DepositorName     string
	DepositorRole     string
	CertificateIssuer string
	CertificateSerial string
	DepositedAt       time.Time
}
