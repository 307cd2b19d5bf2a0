package rights

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CaseState is the state of an expertise.
type CaseState string

// The states of a case, in the order of the procedure.
const (
	StateCreation   CaseState = "creation"    // en création
	StateInProgress CaseState = "in_progress" // en cours
	StatePaused     CaseState = "paused"      // en pause (en attente de consignation)
	StateFinished   CaseState = "finished"    // terminée
	StateArchived   CaseState = "archived"    // archivée
)

// States lists every case state, in the order of the procedure.
func States() []CaseState {
	return []CaseState{StateCreation, StateInProgress, StatePaused, StateFinished, StateArchived}
}

// Valid reports whether s is a known state.
func (s CaseState) Valid() bool { return slices.Contains(States(), s) }

// Role is what a participant is in one case. It is not the account role
// (see [ParticipantRoles] for which account may hold which participant role).
type Role string

// Participant roles.
const (
	RoleExpert      Role = "expert"       // the expert who created the case and owns it
	RoleCoExpert    Role = "co_expert"    // another expert appointed to the same mission
	RoleSapiteur    Role = "sapiteur"     // technician of another specialty (art. 278 CPC)
	RoleMagistrate  Role = "magistrate"   // any magistrate of the case, supervising or not
	RoleClerk       Role = "clerk"        // greffier
	RoleLawyer      Role = "lawyer"       // avocat of one or several parties
	RolePartyMember Role = "party_member" // intervenant of one party
)

// Roles lists every participant role.
func Roles() []Role {
	return []Role{RoleExpert, RoleCoExpert, RoleSapiteur, RoleMagistrate, RoleClerk, RoleLawyer, RolePartyMember}
}

// Valid reports whether r is a known participant role.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// Account roles, spelled as in portal/model (this package imports nothing
// but the standard library; a test checks that the spellings agree).
const (
	accountExpert      = "expert"
	accountSapiteur    = "sapiteur"
	accountMagistrate  = "magistrate"
	accountClerk       = "clerk"
	accountLawyer      = "lawyer"
	accountPartyMember = "party_member"
)

// ParticipantRoles returns the participant roles an account with the given
// account role (model.Role*) may hold in a case: an expert account may own
// a case, be a co-expert, or be a sapiteur picked from the directory; an
// outside sapiteur's account is only ever a sapiteur; every other account
// role maps to the participant role of the same name. An unknown account
// role gets nothing.
func ParticipantRoles(accountRole string) []Role {
	switch accountRole {
	case accountExpert:
		return []Role{RoleExpert, RoleCoExpert, RoleSapiteur}
	case accountSapiteur:
		return []Role{RoleSapiteur}
	case accountMagistrate:
		return []Role{RoleMagistrate}
	case accountClerk:
		return []Role{RoleClerk}
	case accountLawyer:
		return []Role{RoleLawyer}
	case accountPartyMember:
		return []Role{RolePartyMember}
	}
	return nil
}

// FolderKind is what a folder is for; its rights follow from it.
type FolderKind string

// Folder kinds of the default tree, plus the folders the expert adds.
const (
	KindDesignation      FolderKind = "expert_designation"  // Expert / Désignation
	KindConvocations     FolderKind = "expert_convocations" // Expert / Convocations
	KindNotes            FolderKind = "expert_notes"        // Expert / Notes aux parties
	KindPreReport        FolderKind = "expert_prereport"    // Expert / Pré-rapport
	KindExpertSubfolder  FolderKind = "expert_subfolder"    // a folder the expert added
	KindPartyDires       FolderKind = "party_dires"         // <partie> / Dires
	KindPartyPieces      FolderKind = "party_pieces"        // <partie> / Pièces
	KindRegistryOutbound FolderKind = "registry_outbound"   // Greffe / Communication vers le greffe
	KindFinalReport      FolderKind = "final_report"        // Greffe / Rapport définitif
	KindMagistrate       FolderKind = "magistrate"          // Magistrat
	KindConfidential     FolderKind = "confidential"        // any folder marked confidential
)

// FolderKinds lists every folder kind, in tree order.
func FolderKinds() []FolderKind {
	return []FolderKind{
		KindDesignation, KindConvocations, KindNotes, KindPreReport, KindExpertSubfolder,
		KindPartyDires, KindPartyPieces,
		KindRegistryOutbound, KindFinalReport,
		KindMagistrate,
		KindConfidential,
	}
}

// Valid reports whether k is a known folder kind.
func (k FolderKind) Valid() bool { return slices.Contains(FolderKinds(), k) }

// PartyFolder reports whether folders of this kind belong to one party.
func (k FolderKind) PartyFolder() bool { return k == KindPartyDires || k == KindPartyPieces }

// DepositMode is how a party deposits its documents.
type DepositMode string

// Party deposit modes.
const (
	ModeLawyer DepositMode = "lawyer" // dépôt avocat: only the party's lawyers deposit
	ModeMember DepositMode = "member" // dépôt intervenant: the party's members and lawyers deposit
	ModeExpert DepositMode = "expert" // dépôt expert: the expert deposits for the party
	ModePaper  DepositMode = "paper"  // ne dématérialise pas: nobody deposits electronically
)

// DepositModes lists every party deposit mode.
func DepositModes() []DepositMode {
	return []DepositMode{ModeLawyer, ModeMember, ModeExpert, ModePaper}
}

// Valid reports whether m is a known deposit mode.
func (m DepositMode) Valid() bool { return slices.Contains(DepositModes(), m) }

// Action is what a subject wants to do in a folder.
type Action string

// Actions on folders.
const (
	ActionRead    Action = "read"    // list the folder, open and download its documents
	ActionDeposit Action = "deposit" // add documents to it
)

// Subject is one participant of one case, as the rights see them.
type Subject struct {
	Role   Role
	Active bool
	// PartyIDs are the parties the participant belongs to: exactly one for
	// a party member, any number (zero included) for a lawyer, none for
	// every other role.
	PartyIDs []int64
}

// Validate says what is wrong with a subject. The Can* functions refuse
// everything to an invalid subject.
func (s Subject) Validate() error {
	if !s.Role.Valid() {
		return fmt.Errorf("rights: unknown participant role %q", s.Role)
	}
	for i, id := range s.PartyIDs {
		if id <= 0 {
			return fmt.Errorf("rights: party id %d is not positive", id)
		}
		if slices.Contains(s.PartyIDs[:i], id) {
			return fmt.Errorf("rights: party id %d listed twice", id)
		}
	}
	switch s.Role {
	case RolePartyMember:
		if len(s.PartyIDs) != 1 {
			return fmt.Errorf("rights: a party member belongs to exactly one party, not %d", len(s.PartyIDs))
		}
	case RoleLawyer:
	default:
		if len(s.PartyIDs) != 0 {
			return fmt.Errorf("rights: a %s belongs to no party", s.Role)
		}
	}
	return nil
}

// Folder is a folder of a case, as the rights see it.
type Folder struct {
	Kind FolderKind
	// PartyID and PartyMode are the owning party and its deposit mode, for
	// party folders only (zero otherwise).
	PartyID   int64
	PartyMode DepositMode
}

// Validate says what is wrong with a folder. The Can* functions refuse
// everything on an invalid folder.
func (f Folder) Validate() error {
	if !f.Kind.Valid() {
		return fmt.Errorf("rights: unknown folder kind %q", f.Kind)
	}
	if f.Kind.PartyFolder() {
		if f.PartyID <= 0 {
			return errors.New("rights: a party folder needs its party")
		}
		if !f.PartyMode.Valid() {
			return fmt.Errorf("rights: unknown deposit mode %q", f.PartyMode)
		}
		return nil
	}
	if f.PartyID != 0 || f.PartyMode != "" {
		return fmt.Errorf("rights: a %s folder belongs to no party", f.Kind)
	}
	return nil
}

// Rule grants one role one action on some folder kinds in some states. A
// folder is covered when its kind is in Kinds and, for party folders, the
// party conditions hold. Nothing is granted that no rule grants.
type Rule struct {
	Action Action
	Role   Role
	Kinds  []FolderKind
	States []CaseState
	// OwnParty restricts party folders to the parties the subject belongs
	// to (Subject.PartyIDs).
	OwnParty bool
	// Modes, when not empty, restricts party folders to parties with one of
	// these deposit modes.
	Modes []DepositMode
}

// Shorthands for the matrix.
var (
	expertKinds = []FolderKind{KindDesignation, KindConvocations, KindNotes, KindPreReport, KindExpertSubfolder}
	partyKinds  = []FolderKind{KindPartyDires, KindPartyPieces}
	// expertSideDeposits are where the expert and co-experts deposit,
	// party folders in dépôt expert aside.
	expertSideDeposits = slices.Concat(expertKinds, []FolderKind{KindRegistryOutbound, KindFinalReport, KindConfidential})
	openKinds          = []FolderKind{KindDesignation, KindConvocations, KindNotes, KindPreReport, KindExpertSubfolder, KindPartyDires, KindPartyPieces, KindRegistryOutbound, KindFinalReport, KindMagistrate}
	allKinds           = FolderKinds()
	allStates          = States()
	working            = []CaseState{StateInProgress, StatePaused}
	preparing          = []CaseState{StateCreation, StateInProgress, StatePaused}
	inProgress         = []CaseState{StateInProgress}
	afterWork          = []CaseState{StateFinished, StateArchived}
	finishedOnly       = []CaseState{StateFinished}
)

// matrix is the rights matrix. The package documentation shows it as
// tables (see [Table]) and explains each choice.
var matrix = []Rule{
	// Expert (owner): reads everything of the case in every state; deposits
	// in the expert tree, the registry, the final report, confidential
	// folders, and the folders of parties in dépôt expert.
	{Action: ActionRead, Role: RoleExpert, Kinds: allKinds, States: allStates},
	{Action: ActionDeposit, Role: RoleExpert, Kinds: expertSideDeposits, States: inProgress},
	{Action: ActionDeposit, Role: RoleExpert, Kinds: partyKinds, States: inProgress, Modes: []DepositMode{ModeExpert}},

	// Co-expert: the expert's rights while the case is worked on; the final
	// report only once it is finished.
	{Action: ActionRead, Role: RoleCoExpert, Kinds: allKinds, States: preparing},
	{Action: ActionRead, Role: RoleCoExpert, Kinds: []FolderKind{KindFinalReport}, States: afterWork},
	{Action: ActionDeposit, Role: RoleCoExpert, Kinds: expertSideDeposits, States: inProgress},
	{Action: ActionDeposit, Role: RoleCoExpert, Kinds: partyKinds, States: inProgress, Modes: []DepositMode{ModeExpert}},

	// Sapiteur: reads like a party (contradictoire), deposits its opinion in
	// a folder the expert added.
	{Action: ActionRead, Role: RoleSapiteur, Kinds: openKinds, States: working},
	{Action: ActionRead, Role: RoleSapiteur, Kinds: []FolderKind{KindFinalReport}, States: finishedOnly},
	{Action: ActionDeposit, Role: RoleSapiteur, Kinds: []FolderKind{KindExpertSubfolder}, States: inProgress},

	// Magistrates and clerks: read every open folder, keep the final report
	// (the court's copy) after the end, deposit in the Magistrat folder.
	{Action: ActionRead, Role: RoleMagistrate, Kinds: openKinds, States: working},
	{Action: ActionRead, Role: RoleMagistrate, Kinds: []FolderKind{KindFinalReport}, States: afterWork},
	{Action: ActionDeposit, Role: RoleMagistrate, Kinds: []FolderKind{KindMagistrate}, States: inProgress},
	{Action: ActionRead, Role: RoleClerk, Kinds: openKinds, States: working},
	{Action: ActionRead, Role: RoleClerk, Kinds: []FolderKind{KindFinalReport}, States: afterWork},
	{Action: ActionDeposit, Role: RoleClerk, Kinds: []FolderKind{KindMagistrate}, States: inProgress},

	// Lawyers: read every open folder; deposit in the folders of the parties
	// they represent when the party is in dépôt avocat or dépôt
	// intervenant, and in the communication to the registry.
	{Action: ActionRead, Role: RoleLawyer, Kinds: openKinds, States: working},
	{Action: ActionRead, Role: RoleLawyer, Kinds: []FolderKind{KindFinalReport}, States: finishedOnly},
	{Action: ActionDeposit, Role: RoleLawyer, Kinds: partyKinds, States: inProgress, OwnParty: true, Modes: []DepositMode{ModeLawyer, ModeMember}},
	{Action: ActionDeposit, Role: RoleLawyer, Kinds: []FolderKind{KindRegistryOutbound}, States: inProgress},

	// Party members: read every open folder; deposit in their own party's
	// folders when it is in dépôt intervenant.
	{Action: ActionRead, Role: RolePartyMember, Kinds: openKinds, States: working},
	{Action: ActionRead, Role: RolePartyMember, Kinds: []FolderKind{KindFinalReport}, States: finishedOnly},
	{Action: ActionDeposit, Role: RolePartyMember, Kinds: partyKinds, States: inProgress, OwnParty: true, Modes: []DepositMode{ModeMember}},
}

// Matrix returns the rights matrix: a copy, safe to modify.
func Matrix() []Rule {
	out := make([]Rule, len(matrix))
	for i, r := range matrix {
		out[i] = r.clone()
	}
	return out
}

func (r Rule) clone() Rule {
	r.Kinds = slices.Clone(r.Kinds)
	r.States = slices.Clone(r.States)
	r.Modes = slices.Clone(r.Modes)
	return r
}

// Clause is one way a folder may match a [Filter], in the shape of a query
// condition:
//
//	folder.kind IN Kinds
//	AND (PartyIDs == nil OR folder.party_id IN PartyIDs)
//	AND (Modes == nil    OR party.deposit_mode IN Modes)
//
// Kinds is never empty; PartyIDs and Modes are either nil (no condition) or
// not empty, so each list can go straight into an IN (…).
type Clause struct {
	Kinds    []FolderKind
	PartyIDs []int64
	Modes    []DepositMode
}

// Filter is a decision for one subject, action and case state: the folders
// it covers are those matching at least one clause. An empty filter covers
// nothing. The store turns it into a WHERE clause (OR of the clauses), so
// that a query returns only what the subject is entitled to.
type Filter struct {
	Clauses []Clause
}

// Empty reports whether the filter covers no folder at all.
func (f Filter) Empty() bool { return len(f.Clauses) == 0 }

// Match reports whether the filter covers the folder.
func (f Filter) Match(folder Folder) bool {
	for _, c := range f.Clauses {
		if !slices.Contains(c.Kinds, folder.Kind) {
			continue
		}
		if c.PartyIDs != nil && !slices.Contains(c.PartyIDs, folder.PartyID) {
			continue
		}
		if c.Modes != nil && !slices.Contains(c.Modes, folder.PartyMode) {
			continue
		}
		return true
	}
	return false
}

// FilterFor returns the folders a subject may act on in a case state. An
// inactive or invalid subject, an unknown action or an unknown state gets
// an empty filter.
func FilterFor(a Action, s Subject, st CaseState) Filter {
	var f Filter
	if !s.Active || s.Validate() != nil || !st.Valid() || (a != ActionRead && a != ActionDeposit) {
		return f
	}
	for _, r := range matrix {
		if r.Action != a || r.Role != s.Role || !slices.Contains(r.States, st) {
			continue
		}
		c := Clause{Kinds: slices.Clone(r.Kinds)}
		if r.OwnParty {
			if len(s.PartyIDs) == 0 {
				continue // the rule can cover no folder
			}
			c.PartyIDs = slices.Clone(s.PartyIDs)
		}
		if len(r.Modes) > 0 {
			c.Modes = slices.Clone(r.Modes)
		}
		f.Clauses = append(f.Clauses, c)
	}
	return f
}

// Can reports whether the subject may do the action on the folder in a case
// in the given state. It refuses on any invalid input.
func Can(a Action, s Subject, f Folder, st CaseState) bool {
	if f.Validate() != nil {
		return false
	}
	return FilterFor(a, s, st).Match(f)
}

// CanRead reports whether the subject may list the folder and open its
// documents.
func CanRead(s Subject, f Folder, st CaseState) bool { return Can(ActionRead, s, f, st) }

// CanDeposit reports whether the subject may add documents to the folder.
func CanDeposit(s Subject, f Folder, st CaseState) bool { return Can(ActionDeposit, s, f, st) }

// lockStates are the states in which a document may be locked: every state
// in which documents can exist.
var lockStates = []CaseState{StateInProgress, StatePaused, StateFinished, StateArchived}

// CanLock reports whether the subject may lock a document of the case
// (irreversible): only the active owning expert, in any state in which the
// case can hold documents.
func CanLock(s Subject, st CaseState) bool {
	return s.Active && s.Validate() == nil && s.Role == RoleExpert && slices.Contains(lockStates, st)
}

// Transition is one allowed change of case state.
type Transition struct {
	From, To CaseState
}

// transitions are the allowed changes of state.
var transitions = []Transition{
	{StateCreation, StateInProgress}, // ouvrir l'expertise
	{StateInProgress, StatePaused},   // suspendre (attente de consignation)
	{StatePaused, StateInProgress},   // reprendre
	{StateInProgress, StateFinished}, // terminer
	{StatePaused, StateFinished},     // terminer sans reprendre (art. 280, 281 CPC)
	{StateFinished, StateArchived},   // archiver
}

// Transitions returns the allowed changes of case state (a copy).
func Transitions() []Transition { return slices.Clone(transitions) }

// Next returns the states a case may go to from the given state, in the
// order of [Transitions].
func Next(from CaseState) []CaseState {
	var out []CaseState
	for _, t := range transitions {
		if t.From == from {
			out = append(out, t.To)
		}
	}
	return out
}

// CanTransition reports whether the subject may move the case from one
// state to the other: only the active owning expert, along an allowed
// transition.
func CanTransition(s Subject, from, to CaseState) bool {
	return s.Active && s.Validate() == nil && s.Role == RoleExpert &&
		slices.Contains(transitions, Transition{from, to})
}

// stateLetters are the one-letter names of the states in [Table].
var stateLetters = map[CaseState]byte{
	StateCreation: 'c', StateInProgress: 'p', StatePaused: 'z', StateFinished: 'f', StateArchived: 'a',
}

// Table renders the matrix as the plain-text tables of the package
// documentation (a test keeps the two identical).
func Table() string {
	var b strings.Builder
	roles := Roles()
	header := func(title string) {
		fmt.Fprintf(&b, "%-20s", title)
		for _, r := range roles {
			fmt.Fprintf(&b, " %-12s", r)
		}
		b.WriteString("\n")
	}
	row := func(k FolderKind, cell func(Role) string) {
		fmt.Fprintf(&b, "%-20s", k)
		for _, r := range roles {
			fmt.Fprintf(&b, " %-12s", cell(r))
		}
		b.WriteString("\n")
	}

	header("READ")
	for _, k := range FolderKinds() {
		row(k, func(r Role) string {
			cell := []byte(".....")
			for i, st := range States() {
				for _, rule := range matrix {
					if rule.Action == ActionRead && rule.Role == r && slices.Contains(rule.Kinds, k) && slices.Contains(rule.States, st) {
						if rule.OwnParty || len(rule.Modes) > 0 {
							cell[i] = '?'
						} else {
							cell[i] = stateLetters[st]
						}
						break
					}
				}
			}
			return string(cell)
		})
	}
	b.WriteString("\n")
	header("DEPOSIT")
	for _, k := range FolderKinds() {
		row(k, func(r Role) string {
			var codes []string
			for _, rule := range matrix {
				if rule.Action != ActionDeposit || rule.Role != r || !slices.Contains(rule.Kinds, k) {
					continue
				}
				code := depositCode(rule)
				if !slices.Equal(rule.States, inProgress) {
					code += "(" + stateList(rule.States) + ")"
				}
				codes = append(codes, code)
			}
			if len(codes) == 0 {
				return "-"
			}
			return strings.Join(codes, ",")
		})
	}
	b.WriteString("\n")
	b.WriteString("TRANSITIONS (owning expert only)\n")
	for _, t := range transitions {
		fmt.Fprintf(&b, "%s -> %s\n", t.From, t.To)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// depositCode names a deposit rule's conditions with the legend of the
// package documentation.
func depositCode(r Rule) string {
	switch {
	case !r.OwnParty && len(r.Modes) == 0:
		return "D"
	case !r.OwnParty && slices.Equal(r.Modes, []DepositMode{ModeExpert}):
		return "E"
	case r.OwnParty && slices.Equal(r.Modes, []DepositMode{ModeLawyer, ModeMember}):
		return "L"
	case r.OwnParty && slices.Equal(r.Modes, []DepositMode{ModeMember}):
		return "M"
	}
	return "?"
}

func stateList(sts []CaseState) string {
	var b []byte
	for _, st := range sts {
		b = append(b, stateLetters[st])
	}
	return string(b)
}
