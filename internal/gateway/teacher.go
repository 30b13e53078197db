package gateway

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
)

//go:embed teacher.html
var teacherPage []byte

//go:embed login.html
var loginPage string

var loginTemplate = template.Must(template.New("login").Parse(loginPage))

// teacher says whether r comes from the teacher: a teacher's token as
// Bearer (for scripts) or the page's session cookie. viaCookie tells the
// switches to check that the request came from the page itself.
func (g *Gateway) teacher(r *http.Request) (id Identity, viaCookie bool, refusal *Refusal) {
	if tok := bearer(r); tok != "" {
		id, ok, err := g.auth.identify(r, tok)
		switch {
		case err != nil:
			return Identity{}, false, &Refusal{Status: http.StatusBadGateway, Type: "class_gateway_error", Message: "The class gateway could not check your token; try again in a moment."}
		case !ok:
			return Identity{}, false, refuseNoToken
		case !id.Teacher:
			return Identity{}, false, refuseNotTeacher
		}
		return id, false, nil
	}
	if id, ok := g.sessions.current(r); ok {
		if !id.Teacher {
			return Identity{}, true, refuseNotTeacher
		}
		return id, true, nil
	}
	return Identity{}, false, refuseNoToken
}

// usage serves GET /usage: the teacher's report as JSON.
func (g *Gateway) usage(w http.ResponseWriter, r *http.Request) {
	if _, _, refusal := g.teacher(r); refusal != nil {
		refuse(w, openAIShape, refusal)
		return
	}
	rep, err := g.ledger.Usage(r.Context())
	if err != nil {
		g.logf("ledger: %v", err)
		failure(w, openAIShape, http.StatusInternalServerError, "The class gateway could not read its ledger.")
		return
	}
	b, _ := json.Marshal(rep)
	writeJSON(w, http.StatusOK, b)
}

// switchRequest is the body of POST teacher/pause and teacher/limits.
type switchRequest struct {
	All     *bool   `json:"all"`     // pause: the whole class
	Student string  `json:"student"` // pause or limits: one student; "*" for the class defaults
	Paused  *bool   `json:"paused"`
	Limits  *Limits `json:"limits"`
}

// switchFrom authenticates a switch and decodes its body.
func (g *Gateway) switchFrom(w http.ResponseWriter, r *http.Request) (Identity, *switchRequest, bool) {
	id, viaCookie, refusal := g.teacher(r)
	if refusal == nil && viaCookie && (!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		r.Header.Get("Sec-Fetch-Site") == "cross-site") {
		refusal = &Refusal{Status: http.StatusForbidden, Type: "class_teacher_only", Message: "Switches are flipped from the teacher's page only."}
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
func (g *Gateway) pause(w http.ResponseWriter, r *http.Request) {
	id, req, ok := g.switchFrom(w, r)
	if !ok {
		return
	}
	var err error
	switch {
	case req.All != nil:
		err = g.ledger.PauseAll(*req.All, id.Name)
	case req.Student != "" && req.Paused != nil:
		err = g.ledger.PauseStudent(req.Student, *req.Paused, id.Name)
	default:
		failure(w, openAIShape, http.StatusBadRequest, `Say what to pause: {"all":true} or {"student":"NAME","paused":true}.`)
		return
	}
	g.switched(w, err)
}

// limits serves POST teacher/limits: {"student":"ana" or "*","limits":{...}}.
func (g *Gateway) limits(w http.ResponseWriter, r *http.Request) {
	id, req, ok := g.switchFrom(w, r)
	if !ok {
		return
	}
	if req.Student == "" || req.Limits == nil || req.Limits.empty() {
		failure(w, openAIShape, http.StatusBadRequest, `Say whose limits and which: {"student":"NAME" or "*","limits":{"tokens_per_day":5000}}.`)
		return
	}
	g.switched(w, g.ledger.SetLimits(req.Student, *req.Limits, id.Name))
}

func (g *Gateway) switched(w http.ResponseWriter, err error) {
	if err != nil {
		failure(w, openAIShape, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, []byte(`{"ok":true}`))
}

// page serves the teacher's page, or the way to log in to it.
func (g *Gateway) page(w http.ResponseWriter, r *http.Request) {
	if id, ok := g.sessions.current(r); ok && id.Teacher {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:")
		w.Write(teacherPage)
		return
	} else if ok {
		g.loginForm(w, http.StatusForbidden, id.Name+" is not a teacher of this class.")
		return
	}
	if g.hub != nil {
		g.oauthStart(w, r)
		return
	}
	g.loginForm(w, http.StatusOK, "")
}

// login serves the standalone login form's POST: a teacher token.
func (g *Gateway) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	id, ok, err := g.auth.identify(r, strings.TrimSpace(r.PostFormValue("token")))
	switch {
	case err != nil:
		g.loginForm(w, http.StatusBadGateway, "The gateway could not check the token; try again.")
	case !ok:
		g.loginForm(w, http.StatusUnauthorized, "That is not a token of this class.")
	case !id.Teacher:
		g.loginForm(w, http.StatusForbidden, "That is a student's token: the page needs a teacher's.")
	default:
		g.sessions.start(w, r, id)
		http.Redirect(w, r, g.prefix, http.StatusSeeOther)
	}
}

func (g *Gateway) loginForm(w http.ResponseWriter, status int, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	loginTemplate.Execute(w, map[string]any{"Problem": problem, "Action": g.prefix + "login", "Hub": g.hub != nil})
}
