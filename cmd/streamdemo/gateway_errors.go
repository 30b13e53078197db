package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/streamdemo/streamdemo/internal/gateway"
)

// gatewayTodo says, for what the gateway's set-up or ledger refused, what a
// teacher at the command line does about it.
var gatewayTodo = []struct {
	err  error
	todo string
}{
	{gateway.ErrBadUpstream, "pass --upstream http://host:port/v1"},
	{gateway.ErrUpstreamUser, "put the key in --key-file instead"},
	{gateway.ErrNoLedger, "pass --data DIR (where the gateway keeps its ledger) or --database postgres://..."},
	{gateway.ErrNotPostgres, "pass --database postgres://user@host/dbname (or leave it out for SQLite in --data)"},
	{gateway.ErrBadCookieSecret, "delete its settings row cookie_secret to make a new one"},
	{gateway.ErrBadServiceURL, "the hub sets it for its services: start the gateway from the hub, or unset it"},
	{gateway.ErrBadName, "use 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit)"},
	{gateway.ErrNoToken, `see the names with "streamdemo gateway usage"`},
	{gateway.ErrNegativeLimit, "use 0 for no limit"},
}

// sentence is an error said as the one sentence the command line prints.
type sentence struct {
	text string
	err  error
}

func (s *sentence) Error() string { return s.text }
func (s *sentence) Unwrap() error { return s.err }

// gatewaySentence turns what the gateway package returned into a sentence:
// what happened, and what to do where the command line knows. The command's
// own sentences, and errShown, pass unchanged.
func gatewaySentence(err error) error {
	var s *sentence
	if err == nil || errors.Is(err, errShown) || errors.As(err, &s) {
		return err
	}
	var student *gateway.NoStudentError
	if errors.As(err, &student) {
		return say(err, fmt.Sprintf(`see the names with "streamdemo gateway usage", or add one with "streamdemo gateway token add %s"`, student.Name))
	}
	for _, t := range gatewayTodo {
		if errors.Is(err, t.err) {
			return say(err, t.todo)
		}
	}
	return say(err, "")
}

// say makes an error a sentence, with what to do after a colon. An error
// that is already one (the command's own, ending in a full stop or followed
// by the usage) passes unchanged.
func say(err error, todo string) error {
	text := err.Error()
	if strings.HasSuffix(text, ".") || strings.HasSuffix(text, gatewayUsage) {
		return err
	}
	r, size := utf8.DecodeRuneInString(text)
	text = string(unicode.ToUpper(r)) + text[size:]
	if todo != "" {
		text += ": " + todo
	}
	return &sentence{text + ".", err}
}
