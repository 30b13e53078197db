package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"

	"golang.org/x/oauth2"
)

// hubLogin logs the teacher in to the page through the hub's OAuth: the
// hub registered this service as a client (JUPYTERHUB_CLIENT_ID, with its
// API token as the secret and its callback URL).
type hubLogin struct {
	hub      *Hub
	auth     authenticator
	sessions *sessions
	prefix   string
	logf     func(string, ...any)
}

func (h *hubLogin) config() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     h.hub.ClientID,
		ClientSecret: h.hub.APIToken,
		RedirectURL:  h.hub.CallbackURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   h.hub.AuthorizeURL,
			TokenURL:  h.hub.APIURL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// start sends the browser to the hub to log in, remembering a state.
func (h *hubLogin) start(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 24)
	rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	h.sessions.set(w, r, stateCookie, state, 600, http.SameSiteLaxMode)
	http.Redirect(w, r, h.config().AuthCodeURL(state), http.StatusFound)
}

// callback takes the hub's code, asks the hub who it belongs to, and
// starts a session for a teacher.
func (h *hubLogin) callback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, problem string) { loginForm(w, status, problem, h.prefix+"login", true) }
	state := r.URL.Query().Get("state")
	if state == "" || !slices.ContainsFunc(cookieValues(r, stateCookie), func(v string) bool {
		return subtle.ConstantTimeCompare([]byte(v), []byte(state)) == 1
	}) {
		fail(http.StatusBadRequest, "The login did not come from this page: open the page again.")
		return
	}
	h.sessions.set(w, r, stateCookie, "", -1, http.SameSiteLaxMode)
	tok, err := h.config().Exchange(h.context(r), r.URL.Query().Get("code"))
	if err != nil {
		h.logf("oauth: the hub refused the code: %v", err)
		fail(http.StatusForbidden, "The hub did not confirm the login: open the page again.")
		return
	}
	id, ok, err := h.auth.identify(r, tok.AccessToken)
	switch {
	case err != nil || !ok:
		fail(http.StatusForbidden, "The hub did not say who you are: open the page again.")
	case !id.Teacher:
		fail(http.StatusForbidden, id.Name+" is not a teacher of this class: the login's token lacks the "+h.hub.TeacherScope()+" scope (ask the hub's admin for the teacher role).")
	default:
		h.sessions.start(w, r, id, tok.AccessToken)
		http.Redirect(w, r, h.prefix, http.StatusFound)
	}
}

// context makes the code exchange use the hub client, if one was set.
func (h *hubLogin) context(r *http.Request) context.Context {
	if h.hub.Client == nil {
		return r.Context()
	}
	return context.WithValue(r.Context(), oauth2.HTTPClient, h.hub.Client)
}
