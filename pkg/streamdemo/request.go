package streamdemo

// Message is one turn of the conversation: Role is "system", "user" or
// "assistant".
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is everything one streamed answer needs besides the Client.
type Request struct {
	Model       string // overrides the Client's model when set
	Messages    []Message
	MaxTokens   int      // 0 leaves it to the server
	Temperature *float32 // nil leaves it to the server; 0 makes answers repeatable
	Seed        *int     // for servers that support it (Ollama, OpenAI)
	// Whole asks for the whole answer at once (stream: false), to compare with
	// streaming: it arrives as a single chunk when the model has finished.
	Whole bool
}
