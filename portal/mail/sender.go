// Package mail delivers Sceau's outbox: a Worker leases due rows from the
// store and hands each one to a Sender, either an SMTP relay (SMTPSender)
// or, in development, a folder of .eml files (SinkSender). Compose renders
// a mail template into an outbox row.
//
// Delivery is at least once: a message whose acceptance by the relay could
// not be recorded is sent again, with the same Message-ID, so duplicates
// are recognisable.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"sceau.fr/sceau/portal/model"
)

// Sender delivers one rendered outbox message.
type Sender interface {
	Send(ctx context.Context, m *model.OutboxMessage) error
}

// permanentError marks an error that no retry can cure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the worker marks the message failed
// instead of retrying it. Senders use it for messages that can never be
// delivered (an invalid address, say).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err means the message will never be
// accepted: an error marked with Permanent, or the relay refusing the
// recipient (RCPT) or the content (DATA) with a 5xx reply. Everything else
// is temporary: the relay unreachable, timeouts, TLS or authentication
// failures, 4xx replies, and a 5xx to MAIL FROM (which says the sender is
// refused, a configuration problem that would fail every message alike).
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() {
		switch se.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			code := se.ErrorCode()
			return code >= 500 && code <= 599
		}
	}
	return false
}

// isConnectionError reports whether err says nothing was delivered because
// the relay could not be reached or the session could not be set up (as
// opposed to the relay refusing this particular message). The worker then
// defers the rest of its batch instead of trying each message in turn.
func isConnectionError(err error) bool {
	if err == nil || IsPermanent(err) {
		return false
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.Reason == gomail.ErrConnCheck
	}
	return true
}

// ErrHeaderInjection is returned for a recipient, name or subject holding a
// line break or another control character.
var ErrHeaderInjection = errors.New("mail: control character in a header value")

// checkHeaderValue refuses values that could end a header line.
func checkHeaderValue(field, v string) error {
	for _, r := range v {
		if r == '\r' || r == '\n' || (unicode.IsControl(r) && r != '\t') {
			return fmt.Errorf("%w (%s)", ErrHeaderInjection, field)
		}
	}
	return nil
}

// parseRecipient checks a bare address (no display name) and returns it.
func parseRecipient(addr string) (string, error) {
	if err := checkHeaderValue("to", addr); err != nil {
		return "", err
	}
	a, err := netmail.ParseAddress(addr)
	if err != nil {
		return "", fmt.Errorf("mail: invalid recipient address: %w", err)
	}
	if a.Name != "" || a.Address != strings.TrimSpace(addr) {
		return "", errors.New("mail: the recipient must be a bare address, its name goes in toName")
	}
	return a.Address, nil
}

// checkRow validates an outbox row before it is turned into a message, so
// that a row written by other code than Compose cannot inject headers.
func checkRow(m *model.OutboxMessage) error {
	if _, err := parseRecipient(m.ToAddress); err != nil {
		return err
	}
	if err := checkHeaderValue("to name", m.ToName); err != nil {
		return err
	}
	if err := checkHeaderValue("subject", m.Subject); err != nil {
		return err
	}
	if !validMessageID(m.MessageID) {
		return fmt.Errorf("mail: outbox message %d has no valid Message-ID", m.ID)
	}
	return nil
}

// validMessageID accepts "<left@right>" made of printable ASCII without
// spaces or further angle brackets.
func validMessageID(id string) bool {
	if len(id) < 5 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.IndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 || strings.Count(inner, "@") != 1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// domainOf returns the part of an address after the last "@", lower-cased,
// or "" when there is none.
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// redact replaces the recipient's address in an error text by its domain
// alone, for logs and last_error: relays often quote the address back.
func redact(text, addr string) string {
	if addr == "" {
		return text
	}
	masked := "*@" + domainOf(addr)
	// ASCII folding keeps byte offsets equal between text and lower.
	lower, lowAddr := asciiLower(text), asciiLower(addr)
	var b strings.Builder
	for {
		i := strings.Index(lower, lowAddr)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i])
		b.WriteString(masked)
		text, lower = text[i+len(addr):], lower[i+len(addr):]
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
