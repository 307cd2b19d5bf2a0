package model

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of directory search: each looks at some roles only. Litigants
// (party members, sapiteurs) are never in the directory.
const (
	DirectoryExperts = "expert"  // experts, by name, court of appeal, specialty
	DirectoryLawyers = "lawyer"  // lawyers, by name, email or CNBF number; bar
	DirectoryJustice = "justice" // magistrates and clerks, by name and court
)

// Directory search limits.
const (
	DirectoryMinChars = 3   // a criterion shorter than this is refused
	DirectoryMaxChars = 100 // per criterion
	DirectoryMaxWords = 6   // per criterion: each word must match
	DirectoryPageSize = 20  // default page length
	DirectoryMaxLimit = 100 // longest page a caller may ask for
)

// DirectoryQuery is a search in the directory. Text, Court and Specialty
// are split into words; every word of every criterion given must appear
// (case and accents ignored) in the fields that criterion looks at:
//
//	kind     Text                      Court   Specialty
//	expert   name                      court   specialties
//	lawyer   name, email, CNBF number  bar     (refused)
//	justice  name                      court   (refused)
//
// Results come in ascending id order, a page at a time: AfterID gives the
// page after the account with that id, BeforeID the page before it.
type DirectoryQuery struct {
	Kind                   string
	Text, Court, Specialty string
	AfterID, BeforeID      int64
	Limit                  int // 0 is DirectoryPageSize; capped at DirectoryMaxLimit
}

// Roles are the account roles the kind of search covers (nil if unknown).
func (q DirectoryQuery) Roles() []string {
	switch q.Kind {
	case DirectoryExperts:
		return []string{RoleExpert}
	case DirectoryLawyers:
		return []string{RoleLawyer}
	case DirectoryJustice:
		return []string{RoleMagistrate, RoleClerk}
	}
	return nil
}

// Validate checks the query; the errors name the directory form's fields
// (type, q, juridiction, specialite, apres) and say what is wrong in French.
func (q DirectoryQuery) Validate() error {
	var v ValidationErrors
	add := func(f, m string) { v = append(v, FieldError{f, m}) }
	if q.Roles() == nil {
		add("type", "Choisissez le type de professionnel recherché.")
	}
	criterion := func(field, value string) {
		value = strings.TrimSpace(value)
		switch {
		case value == "":
		case !utf8.ValidString(value) || strings.IndexFunc(value, unicode.IsControl) >= 0:
			add(field, "Ce champ contient des caractères non autorisés.")
		case utf8.RuneCountInString(value) < DirectoryMinChars:
			add(field, fmt.Sprintf("Saisissez au moins %d caractères.", DirectoryMinChars))
		case utf8.RuneCountInString(value) > DirectoryMaxChars:
			add(field, fmt.Sprintf("%d caractères au maximum.", DirectoryMaxChars))
		case len(strings.Fields(value)) > DirectoryMaxWords:
			add(field, fmt.Sprintf("%d mots au maximum.", DirectoryMaxWords))
		}
	}
	criterion("q", q.Text)
	criterion("juridiction", q.Court)
	criterion("specialite", q.Specialty)
	if strings.TrimSpace(q.Specialty) != "" && q.Kind != DirectoryExperts && q.Roles() != nil {
		add("specialite", "La spécialité ne s’applique qu’à la recherche d’experts.")
	}
	if strings.TrimSpace(q.Text+q.Court+q.Specialty) == "" {
		add("q", fmt.Sprintf("Saisissez au moins %d caractères.", DirectoryMinChars))
	}
	if q.AfterID < 0 || q.BeforeID < 0 || (q.AfterID > 0 && q.BeforeID > 0) {
		add("apres", "Ce lien de page n’est pas valide : relancez la recherche.")
	}
	if q.Limit < 0 {
		add("limit", "Nombre de résultats par page invalide.")
	}
	if len(v) > 0 {
		return v
	}
	return nil
}
