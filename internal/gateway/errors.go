package gateway

import "errors"

// What the gateway's set-up refuses. The errors returned wrap one of these
// (test with errors.Is); their text is lower-case and names no command:
// the command line adds the sentence that says what to do. The ledger's
// own are in package ledger.
var (
	ErrBadUpstream   = errors.New("not an http(s) URL")
	ErrUpstreamUser  = errors.New("the upstream URL holds a user or password")
	ErrKeyFileOpen   = errors.New("can be read by other users")
	ErrBadServiceURL = errors.New("not a URL with host:port or a socket's path")
)
