package ledger

import (
	"errors"
	"fmt"
)

// What the ledger refuses. The errors returned wrap one of these (test with
// errors.Is or errors.As); their text is lower-case and names no command:
// the command line and the teacher's page add the sentence that says what
// to do.
var (
	ErrNoLedger        = errors.New("no data folder and no database for the ledger")
	ErrNotPostgres     = errors.New("the database is not a postgres:// URL")
	ErrBadCookieSecret = errors.New("the ledger database holds no usable cookie secret")
	ErrBadName         = errors.New("bad name")
	ErrNoToken         = errors.New("no token to revoke")
	ErrNegativeLimit   = errors.New("cannot be negative")
	ErrNegativePrice   = errors.New("cannot be negative")
	// ErrStale says a teacher changed the class since the Class a
	// reservation was planned from: plan it again from Ledger.Class.
	ErrStale = errors.New("the class changed since the reservation was planned")
)

// NoStudentError is a student name the ledger does not know.
type NoStudentError struct{ Name string }

func (e *NoStudentError) Error() string { return fmt.Sprintf("no student called %q", e.Name) }
