package gateway

import (
	"net/url"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/meter"
)

// call is one student's request on its way through the gateway: what was
// asked, what was reserved, and what the answer turned out to use.
type call struct {
	student  string
	token    string // a standalone token the ledger checks in the reservation; "" for a hub user
	path     string // after the prefix, e.g. "v1/chat/completions"
	target   *url.URL
	model    string   // the engines, comma-separated, as the ledger shows them
	engines  []string // the models and presets asked for
	chat     bool
	stream   bool             // the student asked for a stream (else the upstream bills the whole answer, even if she leaves)
	reply    *agentchat.Reply // a chat request put to the Agent API: its answer goes back as chat chunks
	id       int64
	inputEst int64
	reserved ledger.Reservation // what the answer holds while it streams
	class    *ledger.Class      // what admission read: settling prices the answer from it
	priced   bool               // the model's price is known
	minUSD   float64            // the smallest reservation

	// Filled in while the answer streams; read after it ended.
	meter.Tally
	status   int
	whole    bool // a whole (non-streamed) answer was read in full
	proxyErr error
}
