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

// oauthConfig is the hub's OAuth2 client for the teacher page: the hub
// registered this service as a client (JUPYTERHUB_CLIENT_ID, with its API
// token as the secret and its callback URL).
func (g *Gateway) oauthConfig() *oauth2.Config {
	h := g.hub
	return &oauth2.Config{
		ClientID:     h.ClientID,
		ClientSecret: h.APIToken,
		RedirectURL:  h.CallbackURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   h.AuthorizeURL,
			TokenURL:  h.APIURL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// oauthStart sends the browser to the hub to log in, remembering a state.
func (g *Gateway) oauthStart(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 24)
	rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	g.sessions.set(w, r, stateCookie, state, 600, http.SameSiteLaxMode)
	http.Redirect(w, r, g.oauthConfig().AuthCodeURL(state), http.StatusFound)
}

// oauthCallback takes the hub's code, asks the hub who it belongs to, and
// starts a session for a teacher.
func (g *Gateway) oauthCallback(w http.ResponseWriter, r *http.Request) {
	if g.hub == nil {
		http.NotFound(w, r)
		return
	}
	state := r.URL.Query().Get("state")
	if state == "" || !slices.ContainsFunc(cookieValues(r, stateCookie), func(v string) bool {
		return subtle.ConstantTimeCompare([]byte(v), []byte(state)) == 1
	}) {
		g.loginForm(w, http.StatusBadRequest, "The login did not come from this page: open the page again.")
		return
	}
	g.sessions.set(w, r, stateCookie, "", -1, http.SameSiteLaxMode)
	tok, err := g.oauthConfig().Exchange(oauthContext(r, g.hub), r.URL.Query().Get("code"))
	if err != nil {
		g.logf("oauth: the hub refused the code: %v", err)
		g.loginForm(w, http.StatusForbidden, "The hub did not confirm the login: open the page again.")
		return
	}
	id, ok, err := g.auth.identify(r, tok.AccessToken)
	switch {
	case err != nil || !ok:
		g.loginForm(w, http.StatusForbidden, "The hub did not say who you are: open the page again.")
	case !id.Teacher:
		g.loginForm(w, http.StatusForbidden, id.Name+" is not a teacher of this class: the login's token lacks the "+g.hub.TeacherScope()+" scope (ask the hub's admin for the teacher role).")
	default:
		g.sessions.start(w, r, id, tok.AccessToken)
		http.Redirect(w, r, g.prefix, http.StatusFound)
	}
}

// oauthContext makes the code exchange use the hub client, if one was set.
func oauthContext(r *http.Request, h *Hub) context.Context {
	if h.Client == nil {
		return r.Context()
	}
	return context.WithValue(r.Context(), oauth2.HTTPClient, h.Client)
}
