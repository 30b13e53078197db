package gateway

import (
	"net/url"

	"github.com/streamdemo/streamdemo/internal/redact"
)

// call is one student's request on its way through the gateway: what was
// asked, what was reserved, and what the answer turned out to use.
type call struct {
	student   string
	path      string // after the prefix, e.g. "v1/chat/completions"
	target    *url.URL
	key       []byte
	hide      *redact.Key
	model     string   // the engines, comma-separated, as the ledger shows them
	engines   []string // the models and presets asked for
	chat      bool
	stream    bool // the student asked for a stream (else the upstream bills the whole answer, even if she leaves)
	hideUsage bool // the gateway asked for include_usage; the client did not
	id        int64
	inputEst  int64
	reserved  reservation // what the answer holds while it streams
	priced    bool        // the model's price is known
	minUSD    float64     // the smallest reservation

	// Filled in while the answer streams; read after it ended.
	status        int
	usage         *wireUsage
	fees          float64 // the most the upstream reported an answer or a step cost: the least it is charged
	upstreamModel string
	chars         int64 // bytes of output, every kind (observe.go)
	whole         bool  // a whole (non-streamed) answer was read in full
	failed        bool
	proxyErr      error
}
