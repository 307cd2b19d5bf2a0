package rights

import "testing"

func TestJournalAccess(t *testing.T) {
	cases := []struct {
		s            Subject
		supervising  bool
		read, export bool
	}{
		{Subject{Role: RoleExpert, Active: true}, false, true, true},
		{Subject{Role: RoleExpert, Active: false}, false, false, false},
		{Subject{Role: RoleCoExpert, Active: true}, false, true, false},
		{Subject{Role: RoleMagistrate, Active: true}, true, true, false},
		{Subject{Role: RoleMagistrate, Active: true}, false, false, false},
		{Subject{Role: RoleClerk, Active: true}, false, true, false},
		{Subject{Role: RoleClerk, Active: false}, false, false, false},
		{Subject{Role: RoleLawyer, Active: true, PartyIDs: []int64{1}}, false, false, false},
		{Subject{Role: RolePartyMember, Active: true, PartyIDs: []int64{1}}, false, false, false},
		{Subject{Role: RoleSapiteur, Active: true}, false, false, false},
		{Subject{Role: "stranger", Active: true}, true, false, false},
	}
	for _, c := range cases {
		if got := CanReadJournal(c.s, c.supervising); got != c.read {
			t.Errorf("CanReadJournal(%v, supervising=%v) = %v, want %v", c.s, c.supervising, got, c.read)
		}
		if got := CanExportJournal(c.s, c.supervising); got != c.export {
			t.Errorf("CanExportJournal(%v, supervising=%v) = %v, want %v", c.s, c.supervising, got, c.export)
		}
	}
}
