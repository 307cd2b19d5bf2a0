package mail

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/templates"
)

// DefaultMessageIDDomain is the right-hand side of Message-IDs until
// SetMessageIDDomain is called.
const DefaultMessageIDDomain = "sceau.local"

var messageIDDomain atomic.Pointer[string]

// SetMessageIDDomain makes Compose use the domain of fromAddress (the
// configured From address, or a bare domain) in the Message-IDs it
// generates, as RFC 5322 recommends and spam filters expect. Call it once
// at start, before mail is composed. An unusable value restores the
// default and is reported.
func SetMessageIDDomain(fromAddress string) error {
	d := messageIDDomainOf(fromAddress)
	if d == "" {
		messageIDDomain.Store(nil)
		return fmt.Errorf("mail: no usable domain in %q for Message-IDs", fromAddress)
	}
	messageIDDomain.Store(&d)
	return nil
}

// NewMessageID returns a fresh, unique Message-ID, "<32 hex digits@domain>",
// where domain is fromAddress's (an address or a bare domain), or the
// SetMessageIDDomain one, or DefaultMessageIDDomain.
func NewMessageID(fromAddress string) string {
	d := messageIDDomainOf(fromAddress)
	if d == "" {
		if p := messageIDDomain.Load(); p != nil {
			d = *p
		} else {
			d = DefaultMessageIDDomain
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return "<" + hex.EncodeToString(b) + "@" + d + ">"
}

// messageIDDomainOf extracts a domain safe for a Message-ID, or "".
func messageIDDomainOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSuffix(strings.ToLower(s), ">")
	if s == "" || len(s) > 253 || s[0] == '.' || s[0] == '-' || s[len(s)-1] == '.' {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	return s
}

// Compose renders the mail template name with data into an outbox row for
// to (a bare address) and toName (its display name, possibly empty), with
// a fresh Message-ID. The row is ready for store.EnqueueMail or the
// enqueueing done inside a store transaction.
func Compose(tpl *templates.Set, name string, to, toName string, data any) (*model.OutboxMessage, error) {
	addr, err := parseRecipient(to)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("to name", toName); err != nil {
		return nil, err
	}
	rendered, err := tpl.Mail(name, data)
	if err != nil {
		return nil, err
	}
	if err := checkHeaderValue("subject", rendered.Subject); err != nil {
		return nil, err
	}
	if rendered.Subject == "" {
		return nil, fmt.Errorf("mail %s: empty subject", name)
	}
	return &model.OutboxMessage{
		MessageID: NewMessageID(""),
		ToAddress: addr,
		ToName:    strings.TrimSpace(toName),
		Subject:   rendered.Subject,
		TextBody:  rendered.Text,
		HTMLBody:  rendered.HTML,
	}, nil
}
