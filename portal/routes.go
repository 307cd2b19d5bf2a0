package portal

import (
	"net/http"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/templates"
)

// routes declares every route in one place. Routes common to both sides
// come first; each side then has its own subrouter, matched on the side
// recorded in the request context.
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusMethodNotAllowed)
	})

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	if s.deps.PKI != nil {
		r.HandleFunc("/ca/roots.pem", s.rootsPEM).Methods(http.MethodGet, http.MethodHead)
		r.HandleFunc("/ca/crl", s.crl).Methods(http.MethodGet, http.MethodHead)
	}
	r.HandleFunc(langPath, s.switchLang).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", staticHandler())).Methods(http.MethodGet, http.MethodHead)

	if s.deps.Gate != nil && s.deps.Accounts != nil {
		s.apiRoutes(r.MatcherFunc(onSide(SidePortal)).PathPrefix("/api/v1").Subrouter())
	}
	portal := r.MatcherFunc(onSide(SidePortal)).Subrouter()
	if s.deps.Gate != nil {
		portal.Use(s.requireCertificate, s.checkCSRF)
		if s.deps.Accounts != nil {
			portal.HandleFunc("/inscription", s.showRegistration).Methods(http.MethodGet, http.MethodHead)
			portal.HandleFunc("/inscription", s.register).Methods(http.MethodPost)
			portal.HandleFunc("/certificat/ajout", s.openCertificateLink).Methods(http.MethodGet, http.MethodHead)
			portal.HandleFunc("/certificat/ajout", s.useCertificateLink).Methods(http.MethodPost)
			member := portal.NewRoute().Subrouter()
			member.Use(s.requireAccount)
			member.HandleFunc("/", s.dashboard).Methods(http.MethodGet, http.MethodHead)
			if s.deps.Cases != nil {
				member.HandleFunc("/affaires/nouvelle", s.newCaseForm).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires", s.createCase).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}", s.showCase).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires/{case:[0-9]+}/etat", s.changeState).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/modifier", s.editCase).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires/{case:[0-9]+}/modifier", s.saveCase).Methods(http.MethodPost)
			}
			if s.deps.Cases != nil && s.deps.Members != nil {
				member.HandleFunc("/affaires/{case:[0-9]+}/participants", s.showParticipants).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires/{case:[0-9]+}/participants", s.addParticipant).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/parties", s.addParty).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/participants/{id:[0-9]+}/actif", s.setParticipantActive).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/dossiers", s.addFolder).Methods(http.MethodPost)
			}
			if s.deps.Cases != nil && s.deps.Documents != nil && s.deps.Blobs != nil {
				member.HandleFunc("/affaires/{case:[0-9]+}/dossiers/{folder:[0-9]+}/depot", s.deposit).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}", s.download).Methods(http.MethodGet)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}/copie", s.downloadCopy).Methods(http.MethodGet)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}/recepisse", s.showReceipt).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}/recepisse.txt", s.downloadReceipt).Methods(http.MethodGet)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents.zip", s.downloadZip).Methods(http.MethodGet)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}/verrouiller", s.lockDocument).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/documents/{doc:[0-9]+}/relancer", s.remind).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/contradictoire", s.showContradictoire).Methods(http.MethodGet, http.MethodHead)
			}
			if s.deps.Cases != nil && s.deps.Audit != nil {
				member.HandleFunc("/affaires/{case:[0-9]+}/journal", s.showJournal).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/affaires/{case:[0-9]+}/journal.csv", s.exportJournal).Methods(http.MethodGet)
			}
			if s.counterEnabled() && s.deps.Cases != nil && s.deps.Members != nil {
				member.HandleFunc("/affaires/{case:[0-9]+}/participants/{id:[0-9]+}/certificat", s.orderCertificate).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/participants/{id:[0-9]+}/certificat/revoquer", s.revokeCertificate).Methods(http.MethodPost)
				member.HandleFunc("/affaires/{case:[0-9]+}/participants/{id:[0-9]+}/certificat/debloquer", s.rearmOrder).Methods(http.MethodPost)
				member.HandleFunc("/compte/certificat-perdu", s.declareLost).Methods(http.MethodPost)
			}
			member.HandleFunc("/conditions", s.showTerms).Methods(http.MethodGet, http.MethodHead)
			member.HandleFunc("/conditions", s.acceptTerms).Methods(http.MethodPost)
			member.HandleFunc("/compte", s.showAccount).Methods(http.MethodGet, http.MethodHead)
			if s.deps.Search != nil {
				member.HandleFunc("/recherche", s.search).Methods(http.MethodGet, http.MethodHead)
			}
			if s.deps.Notifications != nil {
				member.HandleFunc("/compte/notifications", s.showNotices).Methods(http.MethodGet, http.MethodHead)
				member.HandleFunc("/compte/notifications", s.saveNotificationSettings).Methods(http.MethodPost)
			}
			member.HandleFunc("/annuaire", s.directory).Methods(http.MethodGet, http.MethodHead)
			member.HandleFunc("/compte/certificats/ajouter", s.requestCertificateLink).Methods(http.MethodPost)
			member.HandleFunc("/compte/certificats/{id:[0-9]+}/retirer", s.removeCertificate).Methods(http.MethodPost)
		} else {
			portal.HandleFunc("/", s.portalWelcome).Methods(http.MethodGet, http.MethodHead)
		}
	} else {
		portal.HandleFunc("/", s.portalHome).Methods(http.MethodGet, http.MethodHead)
	}

	counter := r.MatcherFunc(onSide(SideCounter)).Subrouter()
	counter.HandleFunc("/", s.counterHome).Methods(http.MethodGet, http.MethodHead)
	if s.counterEnabled() {
		counter.Use(counterRequest)
		counter.HandleFunc("/retrait", s.openCounter).Methods(http.MethodGet, http.MethodHead)
		counter.HandleFunc("/retrait/code", s.checkCode).Methods(http.MethodPost)
		counter.HandleFunc("/retrait/certificat", s.collect).Methods(http.MethodPost)
		counter.HandleFunc("/retrait/guide", s.guidePage).Methods(http.MethodGet, http.MethodHead)
		counter.HandleFunc("/retrait/guide/{guide}", s.guidePage).Methods(http.MethodGet, http.MethodHead)
	}
	if s.cfg.Development && s.deps.Mailbox != nil {
		counter.HandleFunc("/dev/mail", s.devMailList).Methods(http.MethodGet)
		counter.HandleFunc("/dev/mail/{name}", s.devMailShow).Methods(http.MethodGet)
	}
	return r
}

func staticHandler() http.Handler {
	fs := http.FileServerFS(templates.Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fs.ServeHTTP(w, r)
	})
}

func (s *Server) portalHome(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, http.StatusOK, "portal_home", page{Lang: "fr"})
}

func (s *Server) counterHome(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, http.StatusOK, "counter_home", page{Lang: "fr"})
}
