package portal

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// Mailbox lists the mail the development sink received.
type Mailbox interface {
	List() ([]MailboxEntry, error)
	Read(name string) (MailboxEntry, error)
}

// MailboxEntry is one message in the development sink.
type MailboxEntry struct {
	Name, To, Subject, Text string
	Date                    time.Time
}

// ErrNoSuchMail is returned by Mailbox.Read for an unknown or invalid name.
var ErrNoSuchMail = errors.New("no such mail")

func (s *Server) devMailList(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Mailbox.List()
	if err != nil {
		s.log.Error("listing mail sink", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	s.renderPage(w, r, http.StatusOK, "dev_mail", struct {
		Lang     string
		Messages []MailboxEntry
	}{"fr", list})
}

func (s *Server) devMailShow(w http.ResponseWriter, r *http.Request) {
	m, err := s.deps.Mailbox.Read(mux.Vars(r)["name"])
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	s.renderPage(w, r, http.StatusOK, "dev_mail_message", struct {
		MailboxEntry
		Lang string
	}{m, "fr"})
}
