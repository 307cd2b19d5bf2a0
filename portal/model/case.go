package model

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The values of the enumerated columns below are those of package
// portal/rights (rights.CaseState, rights.Role, rights.FolderKind,
// rights.DepositMode). This package does not import rights (rights' own
// tests import this package); the store converts and checks them.

// Errors of the case spaces, shared by the store and the portal.
var (
	// ErrForbidden says the asker participates in the case but may not do
	// this (e.g. a co-expert changing the state). Someone outside the case
	// gets ErrNotFound instead, which reveals nothing.
	ErrForbidden = errors.New("not allowed for this participant")
	// ErrStateConflict says the case is not, or no longer, in a state from
	// which the change is allowed (e.g. another expert changed it first).
	ErrStateConflict = errors.New("the case is not (or no longer) in a state allowing this change")
	// ErrCaseClosed says the case is finished or archived: its parties,
	// participants and folders no longer change.
	ErrCaseClosed = errors.New("the case is finished or archived")
)

// Case is an expertise (une expertise judiciaire): the secure space of
// one mission, created by an expert who owns it.
type Case struct {
	ID int64 `gorm:"primaryKey"`
	// Name is the readable name of the case, derived from the fields below
	// by DefaultName when left empty, editable by the expert.
	Name           string
	FirstApplicant string // premier demandeur
	FirstDefendant string // premier défendeur
	Jurisdiction   string // juridiction ayant ordonné l'expertise
	RGNumber       string `gorm:"column:rg_number"` // numéro RG
	OrdonnanceDate time.Time
	MissionCode    string // optional
	Comment        string // optional
	State          string // a rights.CaseState
	// ConsignationDate is when the advance on the expert's fees was paid
	// to the court (nil until then).
	ConsignationDate *time.Time
	OwnerID          int64 // the expert's account
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is the cases table.
func (Case) TableName() string { return "cases" }

// DefaultName is the name derived from the first applicant, the first
// defendant, the jurisdiction and the RG number:
// "Martin c/ SCI Les Tilleuls — TJ Rennes, RG 24/01234".
func (c *Case) DefaultName() string {
	name := strings.TrimSpace(c.FirstApplicant) + " c/ " + strings.TrimSpace(c.FirstDefendant)
	var tail []string
	if j := strings.TrimSpace(c.Jurisdiction); j != "" {
		tail = append(tail, j)
	}
	if rg := strings.TrimSpace(c.RGNumber); rg != "" {
		tail = append(tail, "RG "+rg)
	}
	if len(tail) > 0 {
		name += " — " + strings.Join(tail, ", ")
	}
	if utf8.RuneCountInString(name) > CaseNameMax {
		name = string([]rune(name)[:CaseNameMax])
	}
	return name
}

// CaseNameMax is the longest case name.
const CaseNameMax = 300

// Validate checks what the expert typed (the form fields are named after
// the columns). The state, owner and dates of record are the store's.
func (c *Case) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	line("first_applicant", c.FirstApplicant, true, 200, add)
	line("first_defendant", c.FirstDefendant, true, 200, add)
	line("jurisdiction", c.Jurisdiction, true, 200, add)
	line("rg_number", c.RGNumber, true, 40, add)
	line("name", c.Name, false, CaseNameMax, add)
	line("mission_code", c.MissionCode, false, 40, add)
	switch {
	case !utf8.ValidString(c.Comment) || strings.ContainsRune(c.Comment, 0):
		add("comment", "Ce champ contient des caractères non autorisés.")
	case utf8.RuneCountInString(c.Comment) > 2000:
		add("comment", "2000 caractères au maximum.")
	}
	if c.OrdonnanceDate.IsZero() {
		add("ordonnance_date", "Indiquez la date de l’ordonnance.")
	} else if c.OrdonnanceDate.After(time.Now().Add(24 * time.Hour)) {
		add("ordonnance_date", "La date de l’ordonnance ne peut pas être dans le futur.")
	}
	if c.ConsignationDate != nil && c.ConsignationDate.After(time.Now().Add(24*time.Hour)) {
		add("consignation_date", "La date de consignation ne peut pas être dans le futur.")
	}
	if len(v) > 0 {
		return v
	}
	return nil
}

// line checks a one-line text field.
func line(field, value string, required bool, max int, add func(f, m string)) {
	switch {
	case required && strings.TrimSpace(value) == "":
		add(field, "Ce champ est obligatoire.")
	case !utf8.ValidString(value) || strings.IndexFunc(value, unicode.IsControl) >= 0:
		add(field, "Ce champ contient des caractères non autorisés.")
	case utf8.RuneCountInString(value) > max:
		add(field, fmt.Sprintf("%d caractères au maximum.", max))
	}
}

// Party is a party to the proceedings (demandeur, défendeur, intervenant
// forcé…). It is not a participant: its lawyers and members act for it.
type Party struct {
	ID          int64 `gorm:"primaryKey"`
	CaseID      int64
	Name        string
	DepositMode string // a rights.DepositMode
	CreatedAt   time.Time
}

// TableName is the parties table.
func (Party) TableName() string { return "parties" }

// Validate checks the party's name (the store checks the deposit mode).
func (p *Party) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	line("name", p.Name, true, 200, add)
	if len(v) > 0 {
		return v
	}
	return nil
}

// Participant is a person in one case, with a participant role
// (rights.Role). Professionals are accounts picked from the directory;
// party members and outside sapiteurs are created by the expert with a
// name, an email and a phone, and get their account (AccountID) when they
// receive their certificate.
type Participant struct {
	ID        int64 `gorm:"primaryKey"`
	CaseID    int64
	AccountID *int64
	Role      string // a rights.Role
	// DisplayName, Email and Phone describe a person without an account
	// yet; for an account they are empty (the account holds them).
	DisplayName string
	Email       string
	Phone       string
	// PartyID is the party of a party member (nil for every other role).
	PartyID *int64
	// PartyIDs are the parties a lawyer represents (table
	// participant_parties); filled by the store, not a column.
	PartyIDs []int64 `gorm:"-"`
	Active   bool
	// Supervising marks the magistrate in charge of supervising the
	// expertise (at most one per case).
	Supervising bool
	AddedAt     time.Time
}

// TableName is the participants table.
func (Participant) TableName() string { return "participants" }

// Validate checks the contact fields of a person the expert creates
// (those without an account); the store checks roles and parties.
func (p *Participant) Validate() error {
	if p.AccountID != nil {
		return nil
	}
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	line("display_name", p.DisplayName, true, 120, add)
	if _, err := mail.ParseAddress(p.Email); err != nil || strings.ContainsAny(p.Email, " <>") {
		add("email", "Adresse électronique invalide.")
	}
	line("phone", p.Phone, false, 30, add)
	if strings.TrimSpace(p.Phone) != "" && strings.Trim(p.Phone, "+0123456789 .-()") != "" {
		add("phone", "Numéro de téléphone invalide.")
	}
	if len(v) > 0 {
		return v
	}
	return nil
}

// ParticipantParty links a lawyer to a party it represents.
type ParticipantParty struct {
	ParticipantID int64 `gorm:"primaryKey;autoIncrement:false"`
	PartyID       int64 `gorm:"primaryKey;autoIncrement:false"`
}

// TableName is the participant-parties table.
func (ParticipantParty) TableName() string { return "participant_parties" }

// Folder is a folder of a case. Its kind (rights.FolderKind) decides who
// reads and deposits; a confidential folder has kind "confidential".
type Folder struct {
	ID     int64 `gorm:"primaryKey"`
	CaseID int64
	Kind   string // a rights.FolderKind
	// PartyID is the party of a party folder (Dires, Pièces), nil otherwise.
	PartyID *int64
	// ParentID is the folder an expert's sub-folder sits in (nil at the top).
	ParentID *int64
	Name     string
	// Position orders the folders of the default tree.
	Position  int
	CreatedAt time.Time
}

// TableName is the folders table.
func (Folder) TableName() string { return "folders" }

// Confidential reports whether the folder is outside the contradictoire.
func (f *Folder) Confidential() bool { return f.Kind == "confidential" }

// Section is the part of the tree a top-level folder shows in: "Expert",
// "Parties", "Greffe" or "Magistrat".
func (f *Folder) Section() string {
	switch f.Kind {
	case "party_dires", "party_pieces":
		return "Parties"
	case "registry_outbound", "final_report":
		return "Greffe"
	case "magistrate":
		return "Magistrat"
	}
	return "Expert"
}

// Validate checks the name of a folder the expert adds.
func (f *Folder) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	line("name", f.Name, true, 120, add)
	if n := strings.TrimSpace(f.Name); n != "" && strings.Trim(n, ".") == "" {
		add("name", "Ce nom de dossier n’est pas valide.")
	}
	if len(v) > 0 {
		return v
	}
	return nil
}

// Recipient is a person a notice is sent to.
type Recipient struct {
	Name, Email string
}

// Notifier renders the mails announcing a case change to its recipients;
// the store queues them in the transaction of the change itself, so a
// change is never made without its notices, nor announced without being made.
type Notifier func(c *Case, to []Recipient) ([]*OutboxMessage, error)
