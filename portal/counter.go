package portal

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/mail"
	"sceau.fr/sceau/portal/model"
	"sceau.fr/sceau/portal/retrieval"
	"sceau.fr/sceau/portal/useragent"
)

// The counter keeps the link token in a cookie scoped to /retrait, so it
// leaves the address bar (and the browser history) after the first visit.
// A second, signed cookie remembers for a while that the code was right.
const (
	counterCookie    = "sceau_retrait"
	counterOKCookie  = "sceau_retrait_ok"
	counterPath      = "/retrait"
	counterCookieAge = 2 * time.Hour
	codeOKAge        = 30 * time.Minute
)

// counterPage is the counter's landing page: the code step, then the
// collect step.
type counterPage struct {
	Lang, CSRF, Nonce        string
	Step                     string // "code" or "collect"
	Name, CaseName, Expert   string
	Expires                  string
	Error                    string
	Guide, System, Browser   string
	Guides                   []useragent.GuideInfo
	ModernOK, ModernSelected bool
	DownloadsLeft            int
}

// deliveredPage hands over the bundle and its password, once.
type deliveredPage struct {
	Lang, Name, CaseName, Password, FileName, PortalURL, Guide, NotAfter, Profile string
	Bundle                                                                        template.URL
	Guides                                                                        []useragent.GuideInfo
}

// counterRequest prepares the counter's requests: no Referer at all, not
// even to Sceau (the portal's pages use same-origin, which its Origin
// check needs; the counter's forms carry their own token instead), and
// the visitor's address and request id for the audit trail (there is no
// account or certificate yet).
func counterRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r.WithContext(withActor(r.Context(), r, nil, nil)))
	})
}

func (s *Server) counterEnabled() bool { return s.deps.Orders != nil && s.deps.Collector != nil }

// openCounter is the emailed link. GET and HEAD consume nothing: the token
// moves into a cookie and the browser is sent to the same page without it
// (mail scanners that open links first do no harm).
func (s *Server) openCounter(w http.ResponseWriter, r *http.Request) {
	if token := r.URL.Query().Get("jeton"); token != "" {
		if len(token) > 128 {
			token = ""
		}
		http.SetCookie(w, &http.Cookie{Name: counterCookie, Value: token, Path: counterPath, MaxAge: int(counterCookieAge.Seconds()),
			Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: counterOKCookie, Path: counterPath, MaxAge: -1, Secure: true, HttpOnly: true})
		http.Redirect(w, r, counterPath, http.StatusSeeOther)
		return
	}
	v, ok := s.counterOrder(w, r)
	if !ok {
		return
	}
	s.renderCounter(w, r, http.StatusOK, v, "")
}

// counterOrder reads the order of the link in the cookie and answers the
// pages for links that no longer lead to a collection.
func (s *Server) counterOrder(w http.ResponseWriter, r *http.Request) (*model.OrderView, bool) {
	w.Header().Set("Cache-Control", "no-store")
	c, err := r.Cookie(counterCookie)
	if err != nil || c.Value == "" {
		s.counterMessage(w, r, http.StatusBadRequest, "Ouvrez le lien reçu par courriel",
			"Cette page s’ouvre avec le lien de retrait que vous avez reçu par courriel.",
			"Cliquez sur le lien du courriel « votre certificat est prêt à retirer ». Si vous ne le retrouvez pas, demandez à l’expert de vous le renvoyer.")
		return nil, false
	}
	v, err := s.deps.Orders.OrderByToken(r.Context(), retrieval.HashToken(c.Value))
	switch {
	case errors.Is(err, model.ErrNotFound):
		s.linkGone(w, r)
		return nil, false
	case err != nil:
		s.log.Error("reading an order", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
		return nil, false
	}
	o := &v.Order
	switch {
	case o.Collected():
		s.alreadyCollected(w, r)
		return nil, false
	case !o.Usable(s.now()):
		s.linkGone(w, r)
		return nil, false
	case o.LockedAt != nil:
		s.counterMessage(w, r, http.StatusForbidden, "Retrait bloqué",
			"Trop de codes erronés ont été saisis : le retrait est bloqué pour protéger votre certificat.",
			s.trf(r, "Contactez l’expert (%s) : après avoir vérifié votre identité, il débloquera le retrait et vous pourrez réessayer avec le même lien.", v.ExpertName))
		return nil, false
	}
	return v, true
}

func (s *Server) linkGone(w http.ResponseWriter, r *http.Request) {
	s.counterMessage(w, r, http.StatusGone, "Ce lien n’est plus valable",
		"Le lien de retrait a expiré, ou l’expert l’a remplacé par un nouveau.",
		"Utilisez le lien du courriel le plus récent. Si vous n’en avez pas, demandez à l’expert de vous commander un nouveau certificat.")
}

func (s *Server) alreadyCollected(w http.ResponseWriter, r *http.Request) {
	s.counterMessage(w, r, http.StatusConflict, "Certificat déjà retiré",
		"Le certificat de ce lien a déjà été retiré : il ne peut pas l’être une seconde fois.",
		s.trf(r, "Si vous avez enregistré le fichier, installez-le en suivant le guide : %s. Si ce n’est pas vous qui l’avez retiré, prévenez l’expert sans attendre.", s.cfg.CounterURL+"/retrait/guide"))
}

func (s *Server) counterMessage(w http.ResponseWriter, r *http.Request, status int, title, msg, todo string) {
	s.renderPage(w, r, status, "refusal", refusalPage{Lang: "fr", Title: title, Message: msg, Todo: todo, RequestID: RequestID(r.Context())})
}

// counterCSRF binds the counter's forms to the link's token: another site
// cannot know it.
func (s *Server) counterCSRF(tokenHash string) string {
	return hex.EncodeToString(s.mac("counter form", tokenHash))
}

func (s *Server) checkCounterCSRF(r *http.Request, tokenHash string) bool {
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.counterCSRF(tokenHash)))
}

// codeOK reports whether the signed cookie says this link's code was
// given recently.
func (s *Server) codeOK(r *http.Request, tokenHash string) bool {
	c, err := r.Cookie(counterOKCookie)
	if err != nil {
		return false
	}
	exp, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() > t {
		return false
	}
	want := base64.RawURLEncoding.EncodeToString(s.mac("counter code ok", tokenHash, exp))
	return hmac.Equal([]byte(mac), []byte(want))
}

func (s *Server) setCodeOK(w http.ResponseWriter, tokenHash string) {
	exp := strconv.FormatInt(s.now().Add(codeOKAge).Unix(), 10)
	v := exp + "." + base64.RawURLEncoding.EncodeToString(s.mac("counter code ok", tokenHash, exp))
	http.SetCookie(w, &http.Cookie{Name: counterOKCookie, Value: v, Path: counterPath, MaxAge: int(codeOKAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) renderCounter(w http.ResponseWriter, r *http.Request, status int, v *model.OrderView, errMsg string) {
	det := useragent.Detect(r.UserAgent())
	guide := string(det.Guide)
	if g, ok := useragent.ParseGuide(r.FormValue("guide")); ok {
		guide = string(g)
	}
	nonce, _ := retrieval.NewSalt()
	p := counterPage{Lang: "fr", CSRF: s.counterCSRF(v.Order.TokenHash), Nonce: nonce, Step: "code", Name: v.Order.Name,
		CaseName: v.CaseName, Expert: v.ExpertName, Expires: v.Order.LinkExpiresAt.In(paris).Format(s.tr(r, "02/01/2006 à 15:04")),
		Error: errMsg, Guide: guide, System: det.System, Browser: det.Browser, Guides: useragent.Guides(), ModernOK: det.ModernOK,
		DownloadsLeft: v.Order.DownloadsLeft()}
	if s.codeOK(r, v.Order.TokenHash) {
		p.Step = "collect"
	}
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(w, r, status, "counter", p)
}

// checkCode takes the collection code. A wrong code, a locked order and
// an address over its limit get the same answer.
func (s *Server) checkCode(w http.ResponseWriter, r *http.Request) {
	v, ok := s.counterOrder(w, r)
	if !ok {
		return
	}
	if !s.checkCounterCSRF(r, v.Order.TokenHash) {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	cc := s.cfg.Counter.withDefaults()
	typed := r.PostFormValue("code")
	_, err := s.deps.Orders.VerifyCode(r.Context(), v.Order.TokenHash, clientIPOf(r), s.now(),
		model.CodeLimits{PerOrder: cc.CodeAttempts, PerAddress: cc.AddressAttempts, Window: time.Hour},
		func(o *model.CertificateOrder) bool { return retrieval.CodeMatches(o, typed) })
	switch {
	case errors.Is(err, model.ErrWrongCode):
		s.log.Info("wrong collection code", "order", v.Order.ID, "request_id", RequestID(r.Context()))
		s.renderCounter(w, r, http.StatusUnprocessableEntity, v, "Ce code n’est pas accepté. Vérifiez-le (8 caractères, sans 0, 1, I, L ni O). Après plusieurs essais infructueux, le retrait est bloqué et l’expert doit le débloquer.")
	case errors.Is(err, model.ErrAlreadyCollected):
		s.alreadyCollected(w, r)
	case errors.Is(err, model.ErrOrderUnusable):
		s.linkGone(w, r)
	case err != nil:
		s.log.Error("checking a collection code", "request_id", RequestID(r.Context()), "err", err)
		s.renderError(w, r, http.StatusServiceUnavailable)
	default:
		s.setCodeOK(w, v.Order.TokenHash)
		http.Redirect(w, r, counterPath, http.StatusSeeOther)
	}
}

// collect makes the certificate and hands over the bundle with its
// password in this one response (never stored, never emailed).
func (s *Server) collect(w http.ResponseWriter, r *http.Request) {
	// A double click: the second request joins the first, even when the
	// first has already finished and the order reads "collected" now.
	if run := s.joinedCollection(r); run != nil {
		<-run.ready
		s.answerCollection(w, r, run, 0)
		return
	}
	v, ok := s.counterOrder(w, r)
	if !ok {
		return
	}
	if !s.checkCounterCSRF(r, v.Order.TokenHash) {
		s.renderError(w, r, http.StatusForbidden)
		return
	}
	if !s.codeOK(r, v.Order.TokenHash) {
		s.renderCounter(w, r, http.StatusUnprocessableEntity, v, "Saisissez d’abord le code de retrait.")
		return
	}
	profile := bundle.Compatible
	if r.PostFormValue("profile") == string(bundle.Modern) {
		profile = bundle.Modern
	}
	guide := string(useragent.GuideOther)
	if g, ok := useragent.ParseGuide(r.PostFormValue("guide")); ok {
		guide = string(g)
	}
	nonce := r.PostFormValue("nonce")
	if nonce == "" || len(nonce) > 64 {
		nonce, _ = retrieval.NewSalt() // no join without the form's nonce
	}
	run, first := s.collections.join(v.Order.TokenHash + "\x00" + nonce)
	if first {
		run.page, run.err = s.makeBundle(r, v, profile, guide)
		s.collections.done(run)
	} else {
		<-run.ready
	}
	s.answerCollection(w, r, run, v.Order.ID)
}

// joinedCollection finds the run of the same form (same link, same nonce)
// if one is in flight or just finished, checking the form's token and the
// code cookie as the first request did.
func (s *Server) joinedCollection(r *http.Request) *collectionRun {
	c, err := r.Cookie(counterCookie)
	nonce := r.PostFormValue("nonce")
	if err != nil || c.Value == "" || nonce == "" || len(nonce) > 64 {
		return nil
	}
	hash := retrieval.HashToken(c.Value)
	if !s.checkCounterCSRF(r, hash) || !s.codeOK(r, hash) {
		return nil
	}
	return s.collections.find(hash + "\x00" + nonce)
}

func (s *Server) answerCollection(w http.ResponseWriter, r *http.Request, run *collectionRun, orderID int64) {
	err := run.err
	switch {
	case errors.Is(err, model.ErrCollectionBusy):
		s.counterMessage(w, r, http.StatusConflict, "Retrait en cours dans une autre fenêtre",
			"Votre certificat est en cours de préparation dans une autre fenêtre ou un autre onglet.",
			"Revenez à cette fenêtre-là : le certificat et son mot de passe s’y affichent. Un certificat ne se retire qu’une fois.")
	case errors.Is(err, model.ErrAlreadyCollected):
		s.alreadyCollected(w, r)
	case errors.Is(err, model.ErrOrderUnusable):
		s.linkGone(w, r)
	case err != nil:
		s.log.Error("collecting a certificate", "order", orderID, "request_id", RequestID(r.Context()), "err", err)
		s.counterMessage(w, r, http.StatusServiceUnavailable, "Le certificat n’a pas pu être préparé",
			"Un incident technique a empêché la préparation de votre certificat. Rien n’a été consommé : votre lien et votre code restent valables.",
			"Réessayez dans quelques minutes depuis le lien du courriel. Si l’incident persiste, prévenez l’expert.")
	default:
		w.Header().Set("Cache-Control", "no-store")
		s.renderPage(w, r, http.StatusOK, "counter_delivered", run.page)
	}
}

func (s *Server) makeBundle(r *http.Request, v *model.OrderView, profile bundle.Profile, guide string) (*deliveredPage, error) {
	addr := clientIPOf(r)
	// The certificate's OU is "Affaire <ref>", at most 64 characters.
	caseRef := []rune(v.CaseRef)
	if len(caseRef) > 56 {
		caseRef = append(caseRef[:55], '…')
	}
	// Not the request's context: a double click makes the browser abandon
	// the first request, whose answer the second one then shows; the
	// collection must finish (or fail cleanly) whoever is still waiting.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), collectTimeout)
	defer cancel()
	d, err := s.deps.Collector.Collect(ctx, &v.Order, string(caseRef), profile, addr,
		func(o *model.CertificateOrder, expert, person *model.Account) ([]*model.OutboxMessage, error) {
			at := s.now().In(paris).Format("02/01/2006 à 15:04")
			data := map[string]any{"Name": o.Name, "Email": o.Email, "Case": v.CaseName, "Expert": expert.DisplayName,
				"ExpertEmail": expert.Email, "At": at, "Address": addr, "GuideLink": s.cfg.CounterURL + "/retrait/guide/" + guide,
				"PortalURL": s.cfg.PortalURL + "/"}
			toExpert, err := mail.Compose(s.deps.Templates, "order_collected_expert", expert.Email, expert.DisplayName, data)
			if err != nil {
				return nil, err
			}
			toPerson, err := mail.Compose(s.deps.Templates, "order_collected_person", o.Email, o.Name, data)
			if err != nil {
				return nil, err
			}
			return []*model.OutboxMessage{toExpert, toPerson}, nil
		})
	if err != nil {
		return nil, err
	}
	s.log.Info("certificate collected", "order", v.Order.ID, "serial", d.Leaf.SerialNumber.String(), "profile", string(profile))
	return &deliveredPage{Lang: "fr", Name: v.Order.Name, CaseName: v.CaseName, Password: d.Password, FileName: retrieval.FileName,
		PortalURL: s.cfg.PortalURL + "/", Guide: guide, Guides: useragent.Guides(), NotAfter: d.Leaf.NotAfter.In(paris).Format("02/01/2006"),
		Profile: string(profile), Bundle: template.URL("data:application/x-pkcs12;base64," + base64.StdEncoding.EncodeToString(d.Bundle))}, nil
}

// guidePage is an install guide on its own (linked from the confirmation
// email and the "already collected" page).
func (s *Server) guidePage(w http.ResponseWriter, r *http.Request) {
	g := useragent.Detect(r.UserAgent()).Guide
	name, ok := mux.Vars(r)["guide"]
	if !ok && r.URL.Query().Get("guide") != "" {
		name, ok = r.URL.Query().Get("guide"), true
	}
	if ok {
		var known bool
		if g, known = useragent.ParseGuide(name); !known {
			s.renderError(w, r, http.StatusNotFound)
			return
		}
	}
	s.renderPage(w, r, http.StatusOK, "counter_guide", map[string]any{"Lang": "fr", "Guide": string(g), "Guides": useragent.Guides(),
		"PortalURL": s.cfg.PortalURL + "/", "FileName": retrieval.FileName, "Password": ""})
}

// collections joins concurrent submissions of one collection form (a
// double click) so they get the same answer instead of one certificate
// and one "already collected" page. Finished runs stay a few seconds for
// late duplicates, in memory only.
type collections struct {
	mu   sync.Mutex
	runs map[string]*collectionRun
}

type collectionRun struct {
	key   string
	ready chan struct{}
	page  *deliveredPage
	err   error
}

const collectionLinger = 20 * time.Second

// collectTimeout bounds one collection (CA, database, PKCS#12).
const collectTimeout = time.Minute

func newCollections() *collections { return &collections{runs: map[string]*collectionRun{}} }

func (c *collections) join(key string) (*collectionRun, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if run, ok := c.runs[key]; ok {
		return run, false
	}
	run := &collectionRun{key: key, ready: make(chan struct{})}
	c.runs[key] = run
	return run, true
}

func (c *collections) find(key string) *collectionRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[key]
}

func (c *collections) done(run *collectionRun) {
	close(run.ready)
	time.AfterFunc(collectionLinger, func() {
		c.mu.Lock()
		delete(c.runs, run.key)
		c.mu.Unlock()
	})
}
