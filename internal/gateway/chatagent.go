package gateway

import (
	"net/url"

	"github.com/streamdemo/streamdemo/internal/agentchat"
	"github.com/streamdemo/streamdemo/internal/ledger"
	"github.com/streamdemo/streamdemo/internal/meter"
)

// chatOverAgent readies a student's chat-completions request for an
// upstream that answers only the Agent API: it returns the Agent API
// request to send in its place (to agent, the upstream's Agent API), and
// the call translates the answer back to chat chunks as it passes. The
// request is then admitted, reserved and settled as an Agent API request
// is; refusals keep chat's shape.
func chatOverAgent(c *call, body []byte, agent *url.URL) ([]byte, *Refusal) {
	// Caps and n in the student's own words.
	if _, err := meter.Parse(body, meter.Bounds{Cap: ledger.MaxOutputCap, Answers: ledger.MaxAnswers}); err != nil {
		return nil, badBody(c.path, err)
	}
	agentBody, asked, err := agentchat.Request(body)
	if err != nil {
		return nil, badBody(c.path, &meter.BadRequest{Message: err.Error()})
	}
	c.reply, c.target = agentchat.NewReply(asked), agent
	return agentBody, nil
}
