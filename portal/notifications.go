package portal

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"sceau.fr/sceau/portal/model"
)

// Notifications is what the notification settings and the notice history
// need from storage.
type Notifications interface {
	NotificationSettings(ctx context.Context, accountID int64) (model.NotificationSettings, error)
	SaveNotificationSettings(ctx context.Context, set model.NotificationSettings) error
	Notices(ctx context.Context, accountID, before int64, limit int) ([]model.NoticeEntry, error)
}

// notificationForm is the settings section of the account page.
type notificationForm struct {
	model.NotificationSettings
	// OtherPartiesOffered: the "documents of other parties" choice is for
	// magistrates, clerks and lawyers.
	OtherPartiesOffered bool
}

func offersOtherParties(role string) bool {
	return role == model.RoleMagistrate || role == model.RoleClerk || role == model.RoleLawyer
}

// notificationSettingsForm reads the account's settings for the account
// page; nil hides the section (no storage, or it failed: logged).
func (s *Server) notificationSettingsForm(r *http.Request) *notificationForm {
	if s.deps.Notifications == nil {
		return nil
	}
	acc := AccountFrom(r.Context())
	set, err := s.deps.Notifications.NotificationSettings(r.Context(), acc.ID)
	if err != nil {
		s.log.Error("reading notification settings", "err", err)
		return nil
	}
	return &notificationForm{NotificationSettings: set, OtherPartiesOffered: offersOtherParties(acc.Role)}
}

// saveNotificationSettings records the choices of the account page.
func (s *Server) saveNotificationSettings(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	set := model.NotificationSettings{AccountID: acc.ID,
		DepositMail:  r.PostFormValue("deposit_mail") == "1",
		OtherParties: r.PostFormValue("other_parties") == "1" && offersOtherParties(acc.Role),
		DailyDigest:  r.PostFormValue("daily_digest") == "1",
	}
	if err := s.deps.Notifications.SaveNotificationSettings(r.Context(), set); err != nil {
		s.log.Error("saving notification settings", "err", err)
		s.renderError(w, r, http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/compte?ok=notifications#notifications", http.StatusSeeOther)
}

type noticeRow struct {
	Queued             time.Time
	Kind, Summary, To  string
	State, StateDetail string
	CaseLink           string
}

type noticesPage struct {
	Lang    string
	Notices []noticeRow
	Older   string // link to the next page, if any
}

var noticeKindLabels = map[string]string{
	model.NoticeDeposit: "Dépôt", model.NoticeCaseState: "Changement d’état", model.NoticeReminder: "Relance", model.NoticeAccess: "Accès à l’expertise", model.NoticeCertificate: "Certificat",
	model.NoticeDigest: "Récapitulatif quotidien",
}

const noticesPerPage = 50

// showNotices lists every notice mailed to the account, newest first, with
// when it was queued and whether (and when) the mail server took it, so
// that "I never got the email" can be checked.
func (s *Server) showNotices(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	before, _ := strconv.ParseInt(r.URL.Query().Get("avant"), 10, 64)
	entries, err := s.deps.Notifications.Notices(r.Context(), acc.ID, max(before, 0), noticesPerPage+1)
	if err != nil {
		s.log.Error("listing notices", "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return
	}
	p := noticesPage{Lang: "fr"}
	if len(entries) > noticesPerPage {
		entries = entries[:noticesPerPage]
		p.Older = "/compte/notifications?avant=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	for _, e := range entries {
		row := noticeRow{Queued: e.QueuedAt.In(paris), Kind: noticeKindLabels[e.Kind], Summary: e.Summary, To: e.ToAddress}
		switch {
		case e.SentAt != nil:
			row.State, row.StateDetail = "Envoyé", s.trf(r, "remis au serveur de messagerie le %s", e.SentAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04:05")))
		case e.FailedAt != nil:
			row.State, row.StateDetail = "Refusé", s.trf(r, "refusé par le serveur de messagerie le %s : vérifiez votre adresse électronique", e.FailedAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04")))
		default:
			row.State = "En attente d’envoi"
			if e.Attempts > 0 {
				row.StateDetail = s.trf(r, "%d tentative(s), nouvel essai automatique", e.Attempts)
			}
		}
		if e.CaseID != nil {
			row.CaseLink = "/affaires/" + strconv.FormatInt(*e.CaseID, 10)
		}
		p.Notices = append(p.Notices, row)
	}
	s.renderPage(w, r, http.StatusOK, "notifications", p)
}
