package model

import "time"

// SearchResults are what a search found, each kind in its own list.
type SearchResults struct {
	Cases        []Case
	Documents    []SearchDocument
	Participants []SearchParticipant
}

// SearchDocument is a document found, with its case and folder.
type SearchDocument struct {
	ID, CaseID, FolderID int64
	FileName, Kind       string
	CaseName, FolderName string
	DepositedAt          time.Time
}

// SearchParticipant is a participant found, with the case.
type SearchParticipant struct {
	ID, CaseID int64
	Name, Role string
	CaseName   string
	HasAccount bool
}
