// Package notify renders the mails of notices (deposits, daily digest)
// and runs the daily digest. The notices themselves are queued and kept by
// package store, in the transactions of the actions that cause them.
package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/store"
	"sceau.fr/sceau/templates"
)

// Paris is the time zone of dates in mails and of the digest's days (or
// UTC when the system has no time zone data).
var Paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.UTC
}()

// Renderer renders the notice mails with the mail templates; links point
// to PortalURL. A mail says which case and folder, who deposited what and
// when, and links to the portal: it never carries the document.
type Renderer struct {
	Templates *templates.Set
	PortalURL string
	// Location of the dates shown; Paris when nil.
	Location *time.Location
}

// Renderers are r's functions, for store.SetNoticeRenderers.
func (r Renderer) Renderers() store.NoticeRenderers {
	return store.NoticeRenderers{Deposit: r.Deposit, Digest: r.Digest}
}

func (r Renderer) loc() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return Paris
}

// KindLabels name the kinds of documents.
var KindLabels = map[string]string{
	model.DocOrdonnance: "Ordonnance", model.DocConvocation: "Convocation", model.DocNoteAuxParties: "Note aux parties",
	model.DocDire: "Dire", model.DocPiece: "Pièce", model.DocPreRapport: "Pré-rapport", model.DocRapportDefinitif: "Rapport définitif",
	model.DocAnnexe: "Annexe", model.DocDemandeRemuneration: "Demande de rémunération", model.DocAutre: "Autre",
}

// RoleLabels name the roles in a case.
var RoleLabels = map[string]string{
	"expert": "expert", "co_expert": "co-expert", "sapiteur": "sapiteur", "magistrate": "magistrat",
	"clerk": "greffier", "lawyer": "avocat", "party_member": "intervenant d’une partie",
}

// Item is a document as a mail shows it.
type Item struct {
	Case, RG, Folder, File, Kind, Size, Depositor, Role, When string
	CaseLink, Link                                            string
}

func (r Renderer) item(d *model.NoticeDocument) Item {
	base := strings.TrimRight(r.PortalURL, "/") + "/affaires/" + strconv.FormatInt(d.CaseID, 10)
	kind := KindLabels[d.Kind]
	if kind == "" {
		kind = d.Kind
	}
	return Item{Case: d.CaseName, RG: d.RGNumber, Folder: d.FolderName, File: d.FileName, Kind: kind,
		Size: humanSize(d.Size), Depositor: d.DepositorName, Role: RoleLabels[d.DepositorRole],
		When:     d.DepositedAt.In(r.loc()).Format("02/01/2006 à 15:04"),
		CaseLink: base, Link: base + "/documents/" + strconv.FormatInt(d.DocumentID, 10) + "/recepisse"}
}

// Deposit renders the mail announcing one deposit.
func (r Renderer) Deposit(d *model.NoticeDocument, to model.Recipient) (*model.OutboxMessage, error) {
	return mail.Compose(r.Templates, "deposit", to.Email, to.Name, map[string]any{"Name": to.Name, "Doc": r.item(d)})
}

// CaseGroup is one case of a digest, with its new documents.
type CaseGroup struct {
	Case, RG, Link string
	Items          []Item
}

// Digest renders one account's digest of day's documents (docs sorted by
// case).
func (r Renderer) Digest(day string, to model.Recipient, docs []model.NoticeDocument) (*model.OutboxMessage, error) {
	d, err := time.ParseInLocation(time.DateOnly, day, r.loc())
	if err != nil {
		return nil, err
	}
	var groups []CaseGroup
	for i := range docs {
		it := r.item(&docs[i])
		if len(groups) == 0 || groups[len(groups)-1].Link != it.CaseLink {
			groups = append(groups, CaseGroup{Case: it.Case, RG: it.RG, Link: it.CaseLink})
		}
		g := &groups[len(groups)-1]
		g.Items = append(g.Items, it)
	}
	count := strconv.Itoa(len(docs)) + " nouveaux documents"
	if len(docs) == 1 {
		count = "1 nouveau document"
	}
	return mail.Compose(r.Templates, "digest", to.Email, to.Name, map[string]any{
		"Name": to.Name, "Day": d.Format("02/01/2006"), "Count": count, "Cases": groups,
		"Settings": strings.TrimRight(r.PortalURL, "/") + "/compte",
	})
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f Gio", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f Mio", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f Kio", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " octets"
}
