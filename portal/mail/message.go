package mail

import (
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"sceau.fr/sceau/portal/model"
)

// headerAutoSubmitted (RFC 3834) tells receivers and their auto-responders
// that no human wrote the message.
const headerAutoSubmitted gomail.Header = "Auto-Submitted"

// buildMsg turns an outbox row into a MIME message: multipart/alternative
// with text/plain then text/html, UTF-8, quoted-printable, headers encoded
// per RFC 2047, the row's Message-ID and its creation time as Date.
// Invalid rows give a permanent error.
func buildMsg(m *model.OutboxMessage, from, fromName string) (*gomail.Msg, error) {
	if err := checkRow(m); err != nil {
		return nil, Permanent(err)
	}
	msg := gomail.NewMsg(
		gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent(),
	)
	msg.FromMailAddress(&netmail.Address{Name: fromName, Address: from})
	msg.ToMailAddress(&netmail.Address{Name: m.ToName, Address: m.ToAddress})
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader(headerAutoSubmitted, "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	return msg, nil
}
