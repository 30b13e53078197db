package gateway

import (
	"github.com/streamdemo/streamdemo/internal/agentchat"
)

// chatOverAgent readies a student's chat-completions request for an
// upstream that answers only the Agent API: it returns the Agent API
// request to send in its place (to the upstream's Agent API path), and the
// call translates the answer back to chat chunks as it passes. The
// request is then admitted, reserved and settled as an Agent API request
// is; refusals keep chat's shape.
func (g *Gateway) chatOverAgent(c *call, body []byte) ([]byte, *Refusal) {
	if _, err := parseAsked(body); err != nil { // caps and n in the student's own words
		return nil, badBody(c.path, err)
	}
	agentBody, asked, err := agentchat.Request(body)
	if err != nil {
		return nil, badBody(c.path, &badRequest{message: err.Error()})
	}
	c.reply, c.target = agentchat.NewReply(asked), g.upstreamURL("v1/responses")
	return agentBody, nil
}
