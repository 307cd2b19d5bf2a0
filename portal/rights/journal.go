package rights

import "slices"

// JournalAccess is what a participant role may do with the audit trail of
// a case (the "Journal" tab).
type JournalAccess struct {
	Role Role
	// SupervisingOnly: only the magistrate in charge of supervising the
	// expertise, not every magistrate of the case.
	SupervisingOnly bool
	// Export: may download the whole trail as CSV.
	Export bool
}

// journal is who reads a case's audit trail: the experts who conduct the
// mission (the owner, who alone exports it, and co-experts), the
// supervising magistrate and the clerks, in every state of the case. The
// parties, their lawyers and sapiteurs do not: the trail names who opened
// what and when, across every folder, including folders they may not read.
var journal = []JournalAccess{
	{Role: RoleExpert, Export: true},
	{Role: RoleCoExpert},
	{Role: RoleMagistrate, SupervisingOnly: true},
	{Role: RoleClerk},
}

// Journal returns the journal access table (a copy).
func Journal() []JournalAccess { return slices.Clone(journal) }

func journalRule(s Subject) (JournalAccess, bool) {
	if !s.Active || s.Validate() != nil {
		return JournalAccess{}, false
	}
	for _, j := range journal {
		if j.Role == s.Role {
			return j, true
		}
	}
	return JournalAccess{}, false
}

// CanReadJournal reports whether the active participant may read the
// audit trail of the case; supervising says whether they are the
// supervising magistrate.
func CanReadJournal(s Subject, supervising bool) bool {
	j, ok := journalRule(s)
	return ok && (!j.SupervisingOnly || supervising)
}

// CanExportJournal reports whether the active participant may export the
// case's audit trail as CSV.
func CanExportJournal(s Subject, supervising bool) bool {
	j, ok := journalRule(s)
	return ok && j.Export && (!j.SupervisingOnly || supervising)
}
