package gateway

import (
	"io"
	"net/http"
	"time"
)

// Connection limits of the gateway's server. There is no write timeout:
// answers stream for minutes. A request's body has its own deadline instead
// (Config.BodyTimeout), cleared once it is read, so a slow body cannot hold
// a connection and a long answer is not cut.
const (
	headerTimeout  = 10 * time.Second
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10
)

// bodyDeadline gives every request body wait to arrive in full.
func bodyDeadline(wait time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(wait)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the read deadline once the body is read in full, so that the
// server's watch for a client going away does not end a long answer.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done { // a body cut by the deadline keeps it: the connection ends
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
