// Package classwire names the refusals of streamdemo's class gateway as
// they cross the wire: the error type (and code) of the JSON error body.
// The gateway writes them; the library reads them to tell a learner what
// happened. Each is a promise to clients already in the field: never rename.
package classwire

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
