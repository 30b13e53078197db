package gateway

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/streamdemo/streamdemo/internal/ledger"
)

//go:embed teacher.html
var teacherPage []byte

// desk is the teacher's side of the gateway: the page, its log-in and its
// switches, and GET /usage.
type desk struct {
	ledger   *ledger.Ledger
	auth     authenticator
	sessions *sessions
	hub      *Hub      // nil for a standalone gateway
	hubLogin *hubLogin // the page's log-in through the hub; nil without one
	prefix   string
	models   []string // the gateway's default allow-list
	logf     func(string, ...any)
}

// teacher says whether r comes from the teacher: a token whose own scopes
// make it a teacher's, as Bearer (for scripts), or the page's session
// cookie (sess is then set, and the caller checks fromPage).
func (d *desk) teacher(r *http.Request) (id Identity, sess *ledger.Session, refusal *Refusal) {
	if tok := bearer(r); tok != "" {
		id, ok, err := d.auth.identify(r, tok)
		switch {
		case err != nil:
			return Identity{}, nil, refuseCannotCheck
		case !ok:
			return Identity{}, nil, refuseNoToken
		case !id.Teacher:
			return Identity{}, nil, refuseNotTeacher
		}
		return id, nil, nil
	}
	sess, ok := d.sessions.current(r)
	if !ok {
		return Identity{}, nil, refuseNoToken
	}
	id, ok, err := d.auth.identify(r, sess.Token)
	switch {
	case err != nil:
		return Identity{}, nil, refuseCannotCheck
	case !ok || !id.Teacher:
		d.sessions.end(sess) // revoked, or no longer a teacher
		return Identity{}, nil, refuseSessionEnded
	}
	return id, sess, nil
}

// fromPage refuses a cookie request that the teacher's page did not make:
// the page sends the session's CSRF token, which no other page (not even a
// student's server on the same origin) can read.
func (d *desk) fromPage(r *http.Request, sess *ledger.Session) *Refusal {
	if sess == nil {
		return nil // a bearer token: scripts need no CSRF token
	}
	site := r.Header.Get("Sec-Fetch-Site")
	if site == "cross-site" || site == "same-site" || !d.sessions.checkCSRF(r, sess) {
		return refuseNotFromPage
	}
	return nil
}

// usage serves GET /usage: the teacher's report as JSON.
func (d *desk) usage(w http.ResponseWriter, r *http.Request) {
	_, sess, refusal := d.teacher(r)
	if refusal == nil {
		refusal = d.fromPage(r, sess)
	}
	if refusal != nil {
		refuse(w, openAIShape, refusal)
		return
	}
	rep, err := d.ledger.Usage(r.Context())
	if err != nil {
		d.logf("ledger: %v", err)
		failure(w, openAIShape, http.StatusInternalServerError, "The class gateway could not read its ledger.")
		return
	}
	if !rep.ModelsSet {
		rep.Models = append(rep.Models, d.models...)
	}
	d.addHubUsers(r.Context(), rep)
	b, err := json.Marshal(rep)
	if err != nil { // a NaN in the ledger: said in the log, not hidden
		d.logf("usage report: %v", err)
		failure(w, openAIShape, http.StatusInternalServerError, "The class gateway could not read its ledger.")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// switchRequest is the body of POST teacher/pause and teacher/limits.
type switchRequest struct {
	All     *bool          `json:"all"`     // pause: the whole class
	Student string         `json:"student"` // pause or limits: one student; "*" for the class defaults
	Paused  *bool          `json:"paused"`
	Limits  *ledger.Limits `json:"limits"`
}

// switchFrom authenticates a switch and decodes its body.
func (d *desk) switchFrom(w http.ResponseWriter, r *http.Request) (Identity, *switchRequest, bool) {
	id, sess, refusal := d.teacher(r)
	if refusal == nil && sess != nil && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		refusal = refuseNotFromPage
	}
	if refusal == nil {
		refusal = d.fromPage(r, sess)
	}
	if refusal != nil {
		refuse(w, openAIShape, refusal)
		return id, nil, false
	}
	var req switchRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		failure(w, openAIShape, http.StatusBadRequest, "The switch's body is not the JSON the page sends.")
		return id, nil, false
	}
	return id, &req, true
}

// pause serves POST teacher/pause: {"all":true} or {"student":"ana","paused":true}.
func (d *desk) pause(w http.ResponseWriter, r *http.Request) {
	id, req, ok := d.switchFrom(w, r)
	if !ok {
		return
	}
	var err error
	switch {
	case req.All != nil:
		err = d.ledger.PauseAll(*req.All, id.Name)
	case req.Student != "" && req.Paused != nil:
		err = d.ledger.PauseStudent(req.Student, *req.Paused, id.Name)
	default:
		failure(w, openAIShape, http.StatusBadRequest, `Say what to pause: {"all":true} or {"student":"NAME","paused":true}.`)
		return
	}
	d.switched(w, err)
}

// limits serves POST teacher/limits: {"student":"ana" or "*","limits":{...}}.
func (d *desk) limits(w http.ResponseWriter, r *http.Request) {
	id, req, ok := d.switchFrom(w, r)
	if !ok {
		return
	}
	if req.Student == "" || req.Limits == nil || req.Limits.Empty() {
		failure(w, openAIShape, http.StatusBadRequest, `Say whose limits and which: {"student":"NAME" or "*","limits":{"tokens_per_day":5000}}.`)
		return
	}
	d.switched(w, d.ledger.SetLimits(req.Student, *req.Limits, id.Name))
}

// switched answers a switch: ok, or the one sentence the page shows. What
// the database said goes to the log only: a teacher cannot act on it.
func (d *desk) switched(w http.ResponseWriter, err error) {
	var student *ledger.NoStudentError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
	case errors.As(err, &student):
		failure(w, openAIShape, http.StatusBadRequest, fmt.Sprintf("No student called %q: check the name against the table above.", student.Name))
	case errors.Is(err, ledger.ErrNegativeLimit):
		failure(w, openAIShape, http.StatusBadRequest, "A limit cannot be negative: use 0 for no limit.")
	default:
		d.logf("ledger: %v", err)
		failure(w, openAIShape, http.StatusServiceUnavailable, "The class gateway could not save the switch in its ledger: try again in a moment; if it fails again, its log says why.")
	}
}

// page serves the teacher's page, or the way to log in to it. It is shown
// only as a page of its own: never framed, never to a script's fetch, and
// in a window no other page keeps a handle on.
func (d *desk) page(w http.ResponseWriter, r *http.Request) {
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" && dest != "document" {
		refuse(w, openAIShape, refuseNotFromPage)
		return
	}
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
	if _, sess, refusal := d.teacher(r); refusal == nil && sess != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
		w.Write(bytes.Replace(teacherPage, []byte("{{CSRF}}"), []byte(d.sessions.csrf(sess)), 1))
		return
	}
	if d.hubLogin != nil {
		d.hubLogin.start(w, r)
		return
	}
	loginForm(w, http.StatusOK, "", d.prefix+"login", false)
}

// logout serves POST teacher/logout, from the page's button.
func (d *desk) logout(w http.ResponseWriter, r *http.Request) {
	_, sess, refusal := d.teacher(r)
	if refusal == nil && sess == nil {
		refusal = refuseNoToken // a script has no session to end
	}
	if refusal == nil {
		refusal = d.fromPage(r, sess)
	}
	if refusal != nil {
		refuse(w, openAIShape, refusal)
		return
	}
	d.sessions.end(sess)
	d.sessions.set(w, r, sessionCookie, "", -1, http.SameSiteStrictMode)
	writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
}

// login serves the standalone login form's POST: a teacher token.
func (d *desk) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	id, ok, err := d.auth.identify(r, strings.TrimSpace(r.PostFormValue("token")))
	fail := func(status int, problem string) { loginForm(w, status, problem, d.prefix+"login", d.hub != nil) }
	switch {
	case err != nil:
		fail(http.StatusBadGateway, "The gateway could not check the token; try again.")
	case !ok:
		fail(http.StatusUnauthorized, "That is not a token of this class.")
	case !id.Teacher:
		fail(http.StatusForbidden, "That is a student's token: the page needs a teacher's.")
	default:
		d.sessions.start(w, r, id, strings.TrimSpace(r.PostFormValue("token")))
		http.Redirect(w, r, d.prefix, http.StatusSeeOther)
	}
}

// addHubUsers lists every student the hub knows, from the start: one who
// has not asked yet gets a row of zeros under the class's limits. The
// teacher (a hub admin) appears once they ask.
func (d *desk) addHubUsers(ctx context.Context, rep *ledger.Report) {
	if d.hub == nil || d.hub.APIToken == "" {
		return
	}
	names, err := d.hub.students(ctx)
	if err != nil {
		d.logf("hub: %v", err)
		return
	}
	known := map[string]bool{}
	for _, s := range rep.Students {
		known[s.Name] = true
	}
	added := false
	for _, n := range names {
		if !known[n] {
			rep.Students = append(rep.Students, ledger.StudentUsage{Name: n, Limits: rep.Defaults})
			added = true
		}
	}
	if added {
		sort.Slice(rep.Students, func(i, j int) bool { return rep.Students[i].Name < rep.Students[j].Name })
	}
}
