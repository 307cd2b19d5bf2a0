package rights

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"sceau.fr/sceau/portal/model"
)

// The expectations below are written from the decision table of the package
// documentation, by hand, as plain switches. They share no code or variable
// with the matrix: a change to either that is not made to the other fails
// the tests.

// expectRead is who reads what, in which state.
func expectRead(r Role, k FolderKind, st CaseState) bool {
	switch r {
	case RoleExpert:
		return true // the owner reads the whole case in every state
	case RoleCoExpert:
		switch st {
		case StateCreation, StateInProgress, StatePaused:
			return true // confidential included
		case StateFinished, StateArchived:
			return k == KindFinalReport
		}
	case RoleMagistrate, RoleClerk:
		switch st {
		case StateInProgress, StatePaused:
			return k != KindConfidential
		case StateFinished, StateArchived:
			return k == KindFinalReport
		}
	case RoleSapiteur, RoleLawyer, RolePartyMember:
		switch st {
		case StateInProgress, StatePaused:
			return k != KindConfidential
		case StateFinished:
			return k == KindFinalReport
		}
	}
	return false
}

// expectDeposit is who deposits where. own: the folder is of a party the
// subject belongs to.
func expectDeposit(r Role, k FolderKind, st CaseState, mode DepositMode, own bool) bool {
	if st != StateInProgress {
		return false
	}
	expertSide := r == RoleExpert || r == RoleCoExpert
	switch k {
	case KindDesignation, KindConvocations, KindNotes, KindPreReport, KindFinalReport, KindConfidential:
		return expertSide
	case KindExpertSubfolder:
		return expertSide || r == RoleSapiteur
	case KindRegistryOutbound:
		return expertSide || r == RoleLawyer
	case KindMagistrate:
		return r == RoleMagistrate || r == RoleClerk
	case KindPartyDires, KindPartyPieces:
		switch mode {
		case ModeLawyer:
			return r == RoleLawyer && own
		case ModeMember:
			return (r == RoleLawyer || r == RolePartyMember) && own
		case ModeExpert:
			return expertSide
		case ModePaper:
			return false
		}
	}
	return false
}

// subjectFor is a typical participant of the role: lawyers and party
// members belong to party 1.
func subjectFor(r Role, active bool) Subject {
	s := Subject{Role: r, Active: active}
	if r == RoleLawyer || r == RolePartyMember {
		s.PartyIDs = []int64{1}
	}
	return s
}

// folderCase is one folder to try: party folders come in every mode, of
// the subject's party (1) and of another party (2).
type folderCase struct {
	f   Folder
	own bool // of party 1
}

func folderCases() []folderCase {
	var out []folderCase
	for _, k := range []FolderKind{
		KindDesignation, KindConvocations, KindNotes, KindPreReport, KindExpertSubfolder,
		KindPartyDires, KindPartyPieces, KindRegistryOutbound, KindFinalReport, KindMagistrate, KindConfidential,
	} {
		if k != KindPartyDires && k != KindPartyPieces {
			out = append(out, folderCase{f: Folder{Kind: k}})
			continue
		}
		for _, m := range []DepositMode{ModeLawyer, ModeMember, ModeExpert, ModePaper} {
			out = append(out,
				folderCase{f: Folder{Kind: k, PartyID: 1, PartyMode: m}, own: true},
				folderCase{f: Folder{Kind: k, PartyID: 2, PartyMode: m}, own: false})
		}
	}
	return out
}

var (
	testRoles  = []Role{RoleExpert, RoleCoExpert, RoleSapiteur, RoleMagistrate, RoleClerk, RoleLawyer, RolePartyMember}
	testStates = []CaseState{StateCreation, StateInProgress, StatePaused, StateFinished, StateArchived}
)

func TestEnumerationsAreComplete(t *testing.T) {
	if !slices.Equal(Roles(), testRoles) {
		t.Errorf("Roles() = %v, the tests know %v", Roles(), testRoles)
	}
	if !slices.Equal(States(), testStates) {
		t.Errorf("States() = %v, the tests know %v", States(), testStates)
	}
	var kinds []FolderKind
	for _, fc := range folderCases() {
		if !slices.Contains(kinds, fc.f.Kind) {
			kinds = append(kinds, fc.f.Kind)
		}
	}
	if !slices.Equal(FolderKinds(), kinds) {
		t.Errorf("FolderKinds() = %v, the tests know %v", FolderKinds(), kinds)
	}
	if want := []DepositMode{ModeLawyer, ModeMember, ModeExpert, ModePaper}; !slices.Equal(DepositModes(), want) {
		t.Errorf("DepositModes() = %v, the tests know %v", DepositModes(), want)
	}
}

// TestMatrixEveryCombination tries every role × folder (kind, and for party
// folders every mode, own party or not) × state × active, for read and
// deposit, against the hand-written expectations.
func TestMatrixEveryCombination(t *testing.T) {
	n := 0
	for _, r := range testRoles {
		for _, active := range []bool{true, false} {
			s := subjectFor(r, active)
			for _, fc := range folderCases() {
				for _, st := range testStates {
					n++
					wantR := active && expectRead(r, fc.f.Kind, st)
					wantD := active && expectDeposit(r, fc.f.Kind, st, fc.f.PartyMode, fc.own)
					if got := CanRead(s, fc.f, st); got != wantR {
						t.Errorf("CanRead(%+v, %+v, %s) = %v, want %v", s, fc.f, st, got, wantR)
					}
					if got := CanDeposit(s, fc.f, st); got != wantD {
						t.Errorf("CanDeposit(%+v, %+v, %s) = %v, want %v", s, fc.f, st, got, wantD)
					}
					// The filter a store query uses gives the same answers.
					if got := FilterFor(ActionRead, s, st).Match(fc.f); got != wantR {
						t.Errorf("FilterFor(read, %+v, %s).Match(%+v) = %v, want %v", s, st, fc.f, got, wantR)
					}
					if got := FilterFor(ActionDeposit, s, st).Match(fc.f); got != wantD {
						t.Errorf("FilterFor(deposit, %+v, %s).Match(%+v) = %v, want %v", s, st, fc.f, got, wantD)
					}
				}
			}
		}
	}
	if want := 7 * 2 * (9 + 2*4*2) * 5; n != want {
		t.Fatalf("tried %d combinations, want %d", n, want)
	}
	t.Logf("%d combinations, read and deposit each", n)
}

// TestIssueRules checks the rules the issue states, as properties over
// every combination, independently of the expectation functions.
func TestIssueRules(t *testing.T) {
	for _, r := range testRoles {
		s := subjectFor(r, true)
		for _, fc := range folderCases() {
			for _, st := range testStates {
				read, dep := CanRead(s, fc.f, st), CanDeposit(s, fc.f, st)
				if dep && st != StateInProgress {
					t.Errorf("%s deposits in %s while %s: deposits only while in progress", r, fc.f.Kind, st)
				}
				if dep && fc.f.PartyMode == ModePaper {
					t.Errorf("%s deposits in a paper party's %s", r, fc.f.Kind)
				}
				if st == StateFinished && read && fc.f.Kind != KindFinalReport && r != RoleExpert {
					t.Errorf("%s reads %s in a finished case: only the final report (owner aside)", r, fc.f.Kind)
				}
				if st == StateFinished && !read && fc.f.Kind == KindFinalReport {
					t.Errorf("%s cannot read the final report of a finished case", r)
				}
				if (st == StateInProgress || st == StatePaused) && fc.f.Kind != KindConfidential && !read {
					t.Errorf("%s cannot read %+v while %s (contradictoire)", r, fc.f, st)
				}
				if fc.f.Kind == KindConfidential && read && r != RoleExpert && r != RoleCoExpert {
					t.Errorf("%s reads a confidential folder", r)
				}
				if dep && !read {
					t.Errorf("%s deposits in %+v while %s without reading it", r, fc.f, st)
				}
			}
		}
	}
}

func TestPartyModes(t *testing.T) {
	lawyer := Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{1}}
	member := Subject{Role: RolePartyMember, Active: true, PartyIDs: []int64{1}}
	otherMember := Subject{Role: RolePartyMember, Active: true, PartyIDs: []int64{2}}
	expert := Subject{Role: RoleExpert, Active: true}
	coExpert := Subject{Role: RoleCoExpert, Active: true}
	sapiteur := Subject{Role: RoleSapiteur, Active: true}
	judge := Subject{Role: RoleMagistrate, Active: true}
	clerk := Subject{Role: RoleClerk, Active: true}
	party1 := func(m DepositMode) Folder { return Folder{Kind: KindPartyDires, PartyID: 1, PartyMode: m} }
	tests := []struct {
		name string
		s    Subject
		f    Folder
		want bool
	}{
		{"dépôt avocat: its lawyer", lawyer, party1(ModeLawyer), true},
		{"dépôt avocat: its member", member, party1(ModeLawyer), false},
		{"dépôt avocat: the expert", expert, party1(ModeLawyer), false},
		{"dépôt intervenant: its lawyer", lawyer, party1(ModeMember), true},
		{"dépôt intervenant: its member", member, party1(ModeMember), true},
		{"dépôt intervenant: another party's member", otherMember, party1(ModeMember), false},
		{"dépôt intervenant: the expert", expert, party1(ModeMember), false},
		{"dépôt expert: the expert", expert, party1(ModeExpert), true},
		{"dépôt expert: a co-expert", coExpert, party1(ModeExpert), true},
		{"dépôt expert: its lawyer", lawyer, party1(ModeExpert), false},
		{"dépôt expert: its member", member, party1(ModeExpert), false},
		{"dépôt expert: a sapiteur", sapiteur, party1(ModeExpert), false},
		{"paper: its lawyer", lawyer, party1(ModePaper), false},
		{"paper: its member", member, party1(ModePaper), false},
		{"paper: the expert", expert, party1(ModePaper), false},
		{"any mode: a magistrate", judge, party1(ModeMember), false},
		{"any mode: a clerk", clerk, party1(ModeLawyer), false},
		{"pièces like dires", lawyer, Folder{Kind: KindPartyPieces, PartyID: 1, PartyMode: ModeLawyer}, true},
		{"another party's pièces", lawyer, Folder{Kind: KindPartyPieces, PartyID: 2, PartyMode: ModeLawyer}, false},
	}
	for _, tt := range tests {
		if got := CanDeposit(tt.s, tt.f, StateInProgress); got != tt.want {
			t.Errorf("%s: CanDeposit = %v, want %v", tt.name, got, tt.want)
		}
		if got := CanDeposit(tt.s, tt.f, StatePaused); got {
			t.Errorf("%s: CanDeposit while paused", tt.name)
		}
		// Reading never depends on the mode (contradictoire).
		if !CanRead(tt.s, tt.f, StateInProgress) {
			t.Errorf("%s: cannot read the folder", tt.name)
		}
	}
}

func TestLawyerOfTwoParties(t *testing.T) {
	lawyer := Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{10, 20}}
	tests := []struct {
		party int64
		mode  DepositMode
		want  bool
	}{
		{10, ModeLawyer, true},
		{20, ModeLawyer, true},
		{10, ModeMember, true},
		{20, ModeMember, true},
		{10, ModeExpert, false},
		{20, ModePaper, false},
		{30, ModeLawyer, false}, // a party they do not represent
		{30, ModeMember, false},
	}
	for _, tt := range tests {
		for _, k := range []FolderKind{KindPartyDires, KindPartyPieces} {
			f := Folder{Kind: k, PartyID: tt.party, PartyMode: tt.mode}
			if got := CanDeposit(lawyer, f, StateInProgress); got != tt.want {
				t.Errorf("lawyer of 10 and 20, CanDeposit(%+v) = %v, want %v", f, got, tt.want)
			}
			if !CanRead(lawyer, f, StateInProgress) {
				t.Errorf("lawyer of 10 and 20 cannot read %+v", f)
			}
		}
	}
	// The filter names both parties, for an IN (…) in the query.
	f := FilterFor(ActionDeposit, lawyer, StateInProgress)
	var found bool
	for _, c := range f.Clauses {
		if c.PartyIDs != nil {
			found = true
			if !slices.Equal(c.PartyIDs, []int64{10, 20}) || !slices.Equal(c.Modes, []DepositMode{ModeLawyer, ModeMember}) {
				t.Errorf("party clause = %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("no party clause in %+v", f)
	}
	// A lawyer of no party yet reads, and deposits only to the registry.
	none := Subject{Role: RoleLawyer, Active: true}
	for _, fc := range folderCases() {
		want := fc.f.Kind == KindRegistryOutbound
		if got := CanDeposit(none, fc.f, StateInProgress); got != want {
			t.Errorf("lawyer of no party, CanDeposit(%+v) = %v, want %v", fc.f, got, want)
		}
	}
}

func TestInactiveGetsNothing(t *testing.T) {
	for _, r := range testRoles {
		s := subjectFor(r, false)
		for _, st := range testStates {
			for _, a := range []Action{ActionRead, ActionDeposit} {
				if f := FilterFor(a, s, st); !f.Empty() {
					t.Errorf("inactive %s, %s while %s: filter %+v, want empty", r, a, st, f)
				}
			}
			if CanLock(s, st) {
				t.Errorf("inactive %s locks while %s", r, st)
			}
			for _, to := range testStates {
				if CanTransition(s, st, to) {
					t.Errorf("inactive %s moves %s -> %s", r, st, to)
				}
			}
		}
	}
	// Deactivating a participant takes the rights away at once.
	lawyer := Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{1}}
	f := Folder{Kind: KindPartyDires, PartyID: 1, PartyMode: ModeLawyer}
	if !CanDeposit(lawyer, f, StateInProgress) {
		t.Fatal("active lawyer cannot deposit")
	}
	lawyer.Active = false
	if CanDeposit(lawyer, f, StateInProgress) || CanRead(lawyer, f, StateInProgress) {
		t.Error("deactivated lawyer keeps a right")
	}
}

func TestInvalidInputFailsClosed(t *testing.T) {
	good := Folder{Kind: KindPartyDires, PartyID: 1, PartyMode: ModeMember}
	subjects := []struct {
		name string
		s    Subject
	}{
		{"unknown role", Subject{Role: "admin", Active: true}},
		{"empty role", Subject{Active: true}},
		{"account role for participant role", Subject{Role: "Expert", Active: true}},
		{"party member of no party", Subject{Role: RolePartyMember, Active: true}},
		{"party member of two parties", Subject{Role: RolePartyMember, Active: true, PartyIDs: []int64{1, 2}}},
		{"lawyer with a zero party", Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{0}}},
		{"lawyer with a negative party", Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{-1, 1}}},
		{"lawyer with a party twice", Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{1, 1}}},
		{"expert with a party", Subject{Role: RoleExpert, Active: true, PartyIDs: []int64{1}}},
		{"magistrate with a party", Subject{Role: RoleMagistrate, Active: true, PartyIDs: []int64{1}}},
	}
	for _, tt := range subjects {
		if tt.s.Validate() == nil {
			t.Errorf("%s: Validate accepts it", tt.name)
		}
		for _, st := range testStates {
			for _, fc := range folderCases() {
				if CanRead(tt.s, fc.f, st) || CanDeposit(tt.s, fc.f, st) {
					t.Errorf("%s: a right on %+v while %s", tt.name, fc.f, st)
				}
			}
			if CanLock(tt.s, st) {
				t.Errorf("%s: locks while %s", tt.name, st)
			}
		}
		if CanTransition(tt.s, StateCreation, StateInProgress) {
			t.Errorf("%s: changes the state", tt.name)
		}
	}

	expert := Subject{Role: RoleExpert, Active: true}
	member := Subject{Role: RolePartyMember, Active: true, PartyIDs: []int64{1}}
	folders := []struct {
		name string
		f    Folder
	}{
		{"unknown kind", Folder{Kind: "trash"}},
		{"empty kind", Folder{}},
		{"party folder without party", Folder{Kind: KindPartyDires, PartyMode: ModeExpert}},
		{"party folder with an unknown mode", Folder{Kind: KindPartyPieces, PartyID: 1, PartyMode: "fax"}},
		{"party folder without mode", Folder{Kind: KindPartyPieces, PartyID: 1}},
		{"expert folder with a party", Folder{Kind: KindNotes, PartyID: 1}},
		{"final report with a mode", Folder{Kind: KindFinalReport, PartyMode: ModeMember}},
	}
	for _, tt := range folders {
		if tt.f.Validate() == nil {
			t.Errorf("%s: Validate accepts it", tt.name)
		}
		for _, s := range []Subject{expert, member} {
			if CanRead(s, tt.f, StateInProgress) || CanDeposit(s, tt.f, StateInProgress) {
				t.Errorf("%s: %s has a right on it", tt.name, s.Role)
			}
		}
	}

	for _, st := range []CaseState{"", "rejected", "IN_PROGRESS"} {
		if CanRead(expert, good, st) || CanDeposit(member, good, st) || CanLock(expert, st) {
			t.Errorf("state %q grants a right", st)
		}
		if CanTransition(expert, st, StateInProgress) || CanTransition(expert, StateInProgress, st) {
			t.Errorf("transition with state %q", st)
		}
	}
	if Can("delete", expert, Folder{Kind: KindNotes}, StateInProgress) || !FilterFor("delete", expert, StateInProgress).Empty() {
		t.Error("an unknown action is allowed")
	}
	for _, tt := range []Subject{expert, member, {Role: RoleLawyer, Active: true, PartyIDs: []int64{1, 2}}} {
		if err := tt.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", tt, err)
		}
	}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", good, err)
	}
}

func TestLock(t *testing.T) {
	for _, r := range testRoles {
		for _, st := range testStates {
			for _, active := range []bool{true, false} {
				want := r == RoleExpert && active && st != StateCreation
				if got := CanLock(subjectFor(r, active), st); got != want {
					t.Errorf("CanLock(%s, active %v, %s) = %v, want %v", r, active, st, got, want)
				}
			}
		}
	}
}

func TestTransitions(t *testing.T) {
	allowed := map[[2]CaseState]bool{
		{StateCreation, StateInProgress}: true,
		{StateInProgress, StatePaused}:   true,
		{StatePaused, StateInProgress}:   true,
		{StateInProgress, StateFinished}: true,
		{StatePaused, StateFinished}:     true,
		{StateFinished, StateArchived}:   true,
	}
	for _, r := range testRoles {
		for _, active := range []bool{true, false} {
			s := subjectFor(r, active)
			for _, from := range testStates {
				for _, to := range testStates {
					want := r == RoleExpert && active && allowed[[2]CaseState{from, to}]
					if got := CanTransition(s, from, to); got != want {
						t.Errorf("CanTransition(%s, active %v, %s -> %s) = %v, want %v", r, active, from, to, got, want)
					}
				}
			}
		}
	}
	if got := len(Transitions()); got != len(allowed) {
		t.Errorf("Transitions() has %d entries, want %d", got, len(allowed))
	}
	next := map[CaseState][]CaseState{
		StateCreation:   {StateInProgress},
		StateInProgress: {StatePaused, StateFinished},
		StatePaused:     {StateInProgress, StateFinished},
		StateFinished:   {StateArchived},
		StateArchived:   nil,
	}
	for from, want := range next {
		if got := Next(from); !slices.Equal(got, want) {
			t.Errorf("Next(%s) = %v, want %v", from, got, want)
		}
	}
}

func TestParticipantRoles(t *testing.T) {
	tests := map[string][]Role{
		model.RoleExpert:      {RoleExpert, RoleCoExpert, RoleSapiteur},
		model.RoleSapiteur:    {RoleSapiteur},
		model.RoleMagistrate:  {RoleMagistrate},
		model.RoleClerk:       {RoleClerk},
		model.RoleLawyer:      {RoleLawyer},
		model.RolePartyMember: {RolePartyMember},
		"":                    nil,
		"admin":               nil,
	}
	for account, want := range tests {
		if got := ParticipantRoles(account); !slices.Equal(got, want) {
			t.Errorf("ParticipantRoles(%q) = %v, want %v", account, got, want)
		}
	}
	// Every participant role can be held by some account.
	for _, r := range testRoles {
		var held bool
		for account := range tests {
			held = held || slices.Contains(ParticipantRoles(account), r)
		}
		if !held {
			t.Errorf("no account may be a %s", r)
		}
	}
}

// TestMatrixShape checks the declarative table itself: every name in it is
// known, party conditions appear only on party folders, and it cannot be
// changed through Matrix().
func TestMatrixShape(t *testing.T) {
	m := Matrix()
	if len(m) == 0 {
		t.Fatal("empty matrix")
	}
	for i, r := range m {
		if r.Action != ActionRead && r.Action != ActionDeposit {
			t.Errorf("rule %d: action %q", i, r.Action)
		}
		if !r.Role.Valid() {
			t.Errorf("rule %d: role %q", i, r.Role)
		}
		if len(r.Kinds) == 0 || len(r.States) == 0 {
			t.Errorf("rule %d: no kinds or no states", i)
		}
		for _, k := range r.Kinds {
			if !k.Valid() {
				t.Errorf("rule %d: kind %q", i, k)
			}
			if (r.OwnParty || len(r.Modes) > 0) && !k.PartyFolder() {
				t.Errorf("rule %d: party condition on %s", i, k)
			}
		}
		for _, st := range r.States {
			if !st.Valid() {
				t.Errorf("rule %d: state %q", i, st)
			}
		}
		for _, md := range r.Modes {
			if !md.Valid() {
				t.Errorf("rule %d: mode %q", i, md)
			}
		}
		if r.Action == ActionRead && (r.OwnParty || len(r.Modes) > 0) {
			t.Errorf("rule %d: a conditional read (the documentation table cannot show it)", i)
		}
	}
	// Matrix returns a copy.
	m[0].Kinds[0] = "tampered"
	m[0].States = nil
	if again := Matrix(); again[0].Kinds[0] == "tampered" || again[0].States == nil {
		t.Error("Matrix() shares its slices with the matrix")
	}
	tr := Transitions()
	tr[0].To = StateArchived
	if CanTransition(Subject{Role: RoleExpert, Active: true}, StateCreation, StateArchived) {
		t.Error("Transitions() shares its slice")
	}
}

// TestFilterShape checks what the store relies on to build SQL: no empty
// list in a clause, party ids only from the subject.
func TestFilterShape(t *testing.T) {
	subjects := []Subject{
		{Role: RoleLawyer, Active: true, PartyIDs: []int64{3, 4}},
		{Role: RoleLawyer, Active: true},
		{Role: RolePartyMember, Active: true, PartyIDs: []int64{3}},
	}
	for _, r := range testRoles {
		subjects = append(subjects, subjectFor(r, true))
	}
	for _, s := range subjects {
		for _, st := range testStates {
			for _, a := range []Action{ActionRead, ActionDeposit} {
				f := FilterFor(a, s, st)
				for _, c := range f.Clauses {
					if len(c.Kinds) == 0 {
						t.Errorf("%+v %s %s: clause without kinds", s, a, st)
					}
					if c.PartyIDs != nil && (len(c.PartyIDs) == 0 || !slices.Equal(c.PartyIDs, s.PartyIDs)) {
						t.Errorf("%+v %s %s: party ids %v", s, a, st, c.PartyIDs)
					}
					if c.Modes != nil && len(c.Modes) == 0 {
						t.Errorf("%+v %s %s: empty non-nil modes", s, a, st)
					}
				}
				// The filter does not alias the subject or the matrix.
				for _, c := range f.Clauses {
					if len(c.Kinds) > 0 {
						c.Kinds[0] = "tampered"
					}
					if len(c.PartyIDs) > 0 {
						c.PartyIDs[0] = -1
					}
				}
				if FilterFor(a, s, st).Match(Folder{Kind: "tampered"}) || slices.Contains(s.PartyIDs, -1) {
					t.Errorf("%+v %s %s: the filter aliases its inputs", s, a, st)
				}
			}
		}
	}
	// Nothing at all in creation for a party member: an empty filter.
	if f := FilterFor(ActionRead, subjectFor(RolePartyMember, true), StateCreation); !f.Empty() {
		t.Errorf("party member in creation: %+v", f)
	}
}

// TestDocumentationTable keeps the table in the package documentation equal
// to the one rendered from the matrix.
func TestDocumentationTable(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "//\tREAD ") {
			in = true
		}
		if !in {
			continue
		}
		if line == "//" {
			doc = append(doc, "")
		} else if rest, ok := strings.CutPrefix(line, "//\t"); ok {
			doc = append(doc, rest)
		} else {
			break
		}
	}
	for len(doc) > 0 && doc[len(doc)-1] == "" {
		doc = doc[:len(doc)-1]
	}
	got := strings.Join(doc, "\n")
	want := strings.TrimRight(Table(), "\n")
	if got != want {
		t.Errorf("the table in doc.go differs from Table():\n--- doc.go\n%s\n--- Table()\n%s", got, want)
	}
}

// TestConcurrentUse runs the decisions from many goroutines (go test -race).
func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{int64(i + 1)}}
			for _, fc := range folderCases() {
				for _, st := range testStates {
					_ = CanRead(s, fc.f, st)
					_ = CanDeposit(s, fc.f, st)
				}
			}
			m := Matrix()
			m[0].Role = "tampered"
			_ = Table()
		})
	}
	wg.Wait()
	if Matrix()[0].Role == "tampered" {
		t.Error("Matrix() shares its rules")
	}
}

func ExampleCanDeposit() {
	lawyer := Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{7, 9}}
	for _, f := range []Folder{
		{Kind: KindPartyDires, PartyID: 7, PartyMode: ModeLawyer},
		{Kind: KindPartyDires, PartyID: 9, PartyMode: ModePaper},
		{Kind: KindPartyDires, PartyID: 8, PartyMode: ModeMember},
		{Kind: KindRegistryOutbound},
		{Kind: KindNotes},
	} {
		fmt.Println(f.Kind, f.PartyID, f.PartyMode, CanDeposit(lawyer, f, StateInProgress), CanDeposit(lawyer, f, StatePaused))
	}
	// Output:
	// party_dires 7 lawyer true false
	// party_dires 9 paper false false
	// party_dires 8 member false false
	// registry_outbound 0  true false
	// expert_notes 0  false false
}
