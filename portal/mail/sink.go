package mail

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sceau.fr/sceau/portal/model"
)

// SinkSender is the development transport: instead of sending, it writes
// each message as a complete RFC 5322 .eml file in Dir, named so that the
// names sort by time of writing. Files are written atomically (a hidden
// temporary file renamed into place) and readable only by their owner.
type SinkSender struct {
	Dir string
	// From and FromName fill the From header; defaults
	// "noreply@sceau.local" and "Sceau".
	From, FromName string
}

// Send writes m into s.Dir.
func (s SinkSender) Send(_ context.Context, m *model.OutboxMessage) error {
	from, fromName := s.From, s.FromName
	if from == "" {
		from = "noreply@" + DefaultMessageIDDomain
	}
	if fromName == "" {
		fromName = "Sceau"
	}
	msg, err := buildMsg(m, from, fromName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*.part")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op once renamed
	w := bufio.NewWriter(tmp)
	if _, err := msg.WriteTo(w); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(s.Dir, sinkName(time.Now(), m.ID)))
}

// sinkName is "20261125T211003.123456789Z-000042-1a2b3c4d.eml": fixed-width
// UTC time first so names sort chronologically, then the outbox id, then a
// random suffix so that two writes never collide.
func sinkName(t time.Time, id int64) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%sZ-%06d-%s.eml", t.UTC().Format("20060102T150405.000000000"), id, hex.EncodeToString(b))
}

// SinkEntry is one message found in a sink folder. Header values are
// decoded to UTF-8; Text and HTML are only filled by ReadSink.
type SinkEntry struct {
	Name      string // file name, to pass to ReadSink
	Date      time.Time
	From      string // "Name <address>" or the address
	To        string // "Name <address>" or the address
	Subject   string
	MessageID string
	Text      string
	HTML      string
}

// ErrBadSinkName is returned by ReadSink for a name that is not a plain
// .eml file name of the folder.
var ErrBadSinkName = errors.New("mail: invalid sink file name")

// ListSink lists the messages in dir, newest first. A missing folder is an
// empty list. A file that cannot be parsed is listed by name only.
func ListSink(dir string) ([]SinkEntry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && validSinkName(de.Name()) {
			names = append(names, de.Name())
		}
	}
	slices.Sort(names)
	slices.Reverse(names)
	entries := make([]SinkEntry, 0, len(names))
	for _, n := range names {
		e, err := readSink(dir, n, false)
		if err != nil {
			e = SinkEntry{Name: n}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// ReadSink reads one message of dir with its decoded bodies. name must be
// a bare file name ending in .eml: anything with a path separator, or
// naming a hidden file, is refused with ErrBadSinkName.
func ReadSink(dir, name string) (SinkEntry, error) {
	if !validSinkName(name) {
		return SinkEntry{}, ErrBadSinkName
	}
	return readSink(dir, name, true)
}

func validSinkName(name string) bool {
	return strings.HasSuffix(name, ".eml") && len(name) > len(".eml") &&
		!strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, `/\`+"\x00") &&
		filepath.Base(name) == name
}

func readSink(dir, name string, bodies bool) (SinkEntry, error) {
	// os.OpenInRoot refuses to leave dir, even through a symbolic link.
	f, err := os.OpenInRoot(dir, name)
	if err != nil {
		return SinkEntry{}, err
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(bufio.NewReader(f))
	if err != nil {
		return SinkEntry{}, fmt.Errorf("mail: %s: %w", name, err)
	}
	e := SinkEntry{
		Name:      name,
		From:      decodeAddress(msg.Header.Get("From")),
		To:        decodeAddress(msg.Header.Get("To")),
		Subject:   decodeHeader(msg.Header.Get("Subject")),
		MessageID: strings.TrimSpace(msg.Header.Get("Message-Id")),
	}
	if d, err := msg.Header.Date(); err == nil {
		e.Date = d
	}
	if bodies {
		e.Text, e.HTML, err = readBodies(msg.Header, msg.Body)
		if err != nil {
			return e, fmt.Errorf("mail: %s: %w", name, err)
		}
	}
	return e, nil
}

func decodeHeader(v string) string {
	dec := mime.WordDecoder{}
	if s, err := dec.DecodeHeader(v); err == nil {
		return s
	}
	return v
}

func decodeAddress(v string) string {
	a, err := netmail.ParseAddress(v)
	if err != nil {
		return decodeHeader(v)
	}
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// header is what readBodies needs of net/mail.Header and of
// net/textproto.MIMEHeader.
type header interface{ Get(string) string }

// readBodies returns the text/plain and text/html bodies of a message or
// part, descending into multipart containers.
func readBodies(h header, body io.Reader) (text, html string, err error) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain" // RFC 2045 default
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return text, html, nil
			}
			if err != nil {
				return text, html, err
			}
			t, h2, err := readBodies(p.Header, p)
			if err != nil {
				return text, html, err
			}
			if text == "" {
				text = t
			}
			if html == "" {
				html = h2
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // line breaks are ignored
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", "", err
	}
	// Line ends are CRLF on the wire and in the file; LF for reading.
	decoded := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mt {
	case "text/plain":
		return decoded, "", nil
	case "text/html":
		return "", decoded, nil
	}
	return "", "", nil
}
