// Package classwire names the refusals of streamdemo's class gateway as
// they cross the wire: the error type (and code) of the JSON error body.
// The gateway writes them; the library reads them to tell a learner what
// happened. Each is a promise to clients already in the field: never rename.
package classwire

import "fmt"

// The refusal types.
const (
	TokenRejected   = "class_token_rejected"    // the student's token, or the teacher's session, is not accepted
	TeacherOnly     = "class_teacher_only"      // a teacher's page or switch, asked by someone else
	Paused          = "class_paused"            // the teacher paused the class or this student
	BudgetExceeded  = "class_budget_exceeded"   // the day's or the whole budget is used up
	RateLimited     = "class_rate_limited"      // too many requests; Retry-After says when to try again
	KeyRefused      = "class_key_refused"       // the model service refused the class's key
	ModelNotAllowed = "class_model_not_allowed" // the model is not on the class's list
	GatewayError    = "class_gateway_error"     // the gateway itself failed (ledger, token check, request too large)
)

// KeyRefusedSentence is what a student reads when the model service refuses
// the class's key: not their token's fault, and only the teacher can fix it.
// The gateway sends it; the library says it again from the kind alone.
const KeyRefusedSentence = "The class's key was refused by the model service; tell your teacher."

// TokenRejectedSentence is what a student reads when the gateway does not
// accept their token: in a JupyterHub class that token is their server's own,
// which a restart of the server renews. The gateway sends it; the library
// says it again from the type alone.
const TokenRejectedSentence = "The class gateway did not accept your token: restart your server (File > Hub Control Panel: Stop My Server, then Start My Server), or tell your teacher."

// WaitSentence is RateLimited's sentence for a wait of secs seconds, sent by
// the gateway and said again by the library from Retry-After.
func WaitSentence(secs int) string { return fmt.Sprintf("Too many requests; wait %d seconds.", secs) }
