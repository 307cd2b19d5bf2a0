package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/rights"
)

// setParticipantActive deactivates (active=0) or reactivates (active=1) a
// participant; a deactivated participant loses access to the case at once
// (every store query checks the participant is active). The owner cannot
// deactivate themself.
func (s *Server) setParticipantActive(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	var active bool
	switch r.PostFormValue("active") {
	case "1":
		active = true
	case "0":
	default:
		s.renderParticipants(w, r, http.StatusUnprocessableEntity, "", model.ValidationErrors{{Field: "case", Message: "Choisissez d’activer ou de désactiver ce participant."}}, nil)
		return
	}
	c, err := s.deps.Cases.Case(r.Context(), caseID, acc.ID)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if c.OwnerID != acc.ID {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	err = s.deps.Members.SetParticipantActiveAndNotify(r.Context(), caseID, acc.ID, id, active, s.accessNotifier())
	if err == nil && !active {
		s.revocations.poke() // their litigant certificates are revoked
	}
	notice := "desactive"
	if active {
		notice = "active"
	}
	switch {
	case errors.Is(err, model.ErrForbidden):
		// The owner is a participant of the case: only their own row is refused.
		s.renderParticipants(w, r, http.StatusUnprocessableEntity, "", model.ValidationErrors{{Field: "case", Message: "Vous ne pouvez pas vous désactiver vous-même : l’expertise n’aurait plus personne pour la conduire."}}, nil)
	case errors.Is(err, model.ErrCaseClosed):
		s.renderParticipants(w, r, http.StatusConflict, "", model.ValidationErrors{{Field: "case", Message: "L’expertise est archivée : ses participants ne peuvent plus changer."}}, nil)
	default:
		s.afterMemberChange(w, r, caseID, notice, err, nil)
	}
}

// addFolder adds a sub-folder of the expert or a confidential folder.
func (s *Server) addFolder(w http.ResponseWriter, r *http.Request) {
	acc := AccountFrom(r.Context())
	caseID, _ := idVar(r, "case")
	form := map[string]string{"folder_name": strings.TrimSpace(r.PostFormValue("folder_name")), "folder_kind": r.PostFormValue("folder_kind")}
	f := &model.Folder{Name: form["folder_name"], Kind: string(rights.KindExpertSubfolder)}
	if form["folder_kind"] == string(rights.KindConfidential) {
		f.Kind = string(rights.KindConfidential)
	}
	_, err := s.deps.Members.AddFolder(r.Context(), caseID, acc.ID, f)
	var v model.ValidationErrors
	switch {
	case errors.As(err, &v):
		for i := range v {
			if v[i].Field == "name" {
				v[i].Field = "folder_name"
			}
		}
		s.renderParticipants(w, r, http.StatusUnprocessableEntity, "", v, form)
	case errors.Is(err, model.ErrCaseClosed):
		s.renderParticipants(w, r, http.StatusConflict, "", model.ValidationErrors{{Field: "folder_name", Message: "L’expertise est terminée : on ne peut plus y ajouter de dossier."}}, form)
	default:
		s.afterMemberChange(w, r, caseID, "dossier", err, form)
	}
}
