package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/streamdemo/streamdemo/internal/gateway"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

// gatewayTodo says, for what the gateway's set-up or ledger refused, what a
// teacher at the command line does about it: the gateway package names no
// command.
var gatewayTodo = []struct {
	err  error
	todo string
}{
	{gateway.ErrBadUpstream, "pass --upstream http://host:port/v1"},
	{gateway.ErrUpstreamUser, "put the key in --key-file instead"},
	{ledger.ErrNoLedger, "pass --data DIR (where the gateway keeps its ledger) or --database postgres://..."},
	{ledger.ErrNotPostgres, "pass --database postgres://user@host/dbname (or leave it out for SQLite in --data)"},
	{ledger.ErrBadCookieSecret, "delete its settings row cookie_secret to make a new one"},
	{gateway.ErrBadServiceURL, "the hub sets it for its services: start the gateway from the hub, or unset it"},
	{ledger.ErrBadName, "use 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit)"},
	{ledger.ErrNoToken, `see the names with "streamdemo gateway usage"`},
	{ledger.ErrNegativeLimit, "use 0 for no limit"},
}

// sentence is what a command returned, said as the one sentence the command
// line prints: what happened, then what to do where the command line knows.
// A stream's failure is its Hint; any other error is lower-case below, and
// gets its capital and full stop here.
func sentence(err error) string {
	var failed *streamdemo.Error
	if errors.As(err, &failed) {
		return streamdemo.Hint(err)
	}
	text := strings.TrimSuffix(err.Error(), ".")
	if todo := todoFor(err); todo != "" {
		text += ": " + todo
	}
	r, size := utf8.DecodeRuneInString(text)
	return string(unicode.ToUpper(r)) + text[size:] + "."
}

// todoFor is what to do about an error of the gateway package, or "".
func todoFor(err error) string {
	var student *ledger.NoStudentError
	if errors.As(err, &student) {
		return fmt.Sprintf(`see the names with "streamdemo gateway usage", or add one with "streamdemo gateway token add %s"`, student.Name)
	}
	for _, t := range gatewayTodo {
		if errors.Is(err, t.err) {
			return t.todo
		}
	}
	return ""
}
