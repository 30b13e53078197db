package gateway

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed login.html
var loginPage string

var loginTemplate = template.Must(template.New("login").Parse(loginPage))

// loginForm answers with the page that logs the teacher in: a form for a
// teacher's token posted to action, or (hub) the way to the hub's login;
// problem, if any, says what went wrong.
func loginForm(w http.ResponseWriter, status int, problem, action string, hub bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	loginTemplate.Execute(w, map[string]any{"Problem": problem, "Action": action, "Hub": hub})
}
