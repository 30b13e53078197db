package gateway

import (
	"io"
	"net/http"
	"sync"

	"github.com/streamdemo/streamdemo/internal/sizes"
)

// maxUnderWay bounds one student's requests under way in one gateway where
// the teacher set no limit of streams at once: with bodies of at most
// sizes.MaxRequest, what one student can make a gateway hold is bounded.
const maxUnderWay = 64

// underWay counts each student's requests under way in this gateway, from
// before the body is read until the answer is settled, so that the limit of
// streams at once holds before the gateway reads (and holds) a body. The
// ledger's count of open answers holds the same limit across replicas.
type underWay struct {
	mu sync.Mutex
	n  map[string]int64
}

// take counts one more request of student's, unless limit are under way.
func (u *underWay) take(student string, limit int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[student] >= limit {
		return false
	}
	if u.n == nil {
		u.n = map[string]int64{}
	}
	u.n[student]++
	return true
}

// done counts one request of student's less.
func (u *underWay) done(student string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[student]--; u.n[student] <= 0 {
		delete(u.n, student)
	}
}

// slots is how many of student's requests may be under way in one
// gateway with her limit of streams at once (0: none set).
func slots(limit int64) int64 {
	if limit == 0 {
		return maxUnderWay
	}
	return limit
}

// refuseUnread refuses a request whose body the gateway will not keep: the
// answer goes at once, before the body has arrived (by default the server
// would first wait for it); then what arrives of the body (within its
// deadline and sizes.MaxRequest) is read and dropped, so that the client,
// still sending, is not reset before it reads the answer; then the
// connection ends.
func refuseUnread(w http.ResponseWriter, r *http.Request, s shape, refusal *Refusal) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		refuse(w, s, refusal)
		return
	}
	rc := http.NewResponseController(w)
	rc.EnableFullDuplex()
	w.Header().Set("Connection", "close")
	refuse(w, s, refusal)
	rc.Flush()
	io.Copy(io.Discard, io.LimitReader(r.Body, sizes.MaxRequest))
}
