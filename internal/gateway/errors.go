package gateway

import (
	"errors"
	"fmt"
)

// What the gateway's set-up and its ledger refuse. The errors returned wrap
// one of these (test with errors.Is or errors.As); their text is lower-case
// and names no command: the command line and the teacher's page add the
// sentence that says what to do.
var (
	ErrBadUpstream     = errors.New("not an http(s) URL")
	ErrUpstreamUser    = errors.New("the upstream URL holds a user or password")
	ErrKeyFileOpen     = errors.New("can be read by other users")
	ErrNoLedger        = errors.New("no data folder and no database for the ledger")
	ErrNotPostgres     = errors.New("the database is not a postgres:// URL")
	ErrBadCookieSecret = errors.New("the ledger database holds no usable cookie secret")
	ErrBadServiceURL   = errors.New("not a URL with host:port or a socket's path")
	ErrBadName         = errors.New("bad name")
	ErrNoToken         = errors.New("no token to revoke")
	ErrNegativeLimit   = errors.New("cannot be negative")
	ErrNegativePrice   = errors.New("cannot be negative")
)

// NoStudentError is a student name the ledger does not know.
type NoStudentError struct{ Name string }

func (e *NoStudentError) Error() string { return fmt.Sprintf("no student called %q", e.Name) }
