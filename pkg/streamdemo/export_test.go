package streamdemo

// WithStreamLimit returns cfg with MaxStreamBytes lowered to n, so that a
// test reaches the limit quickly even under the race detector.
func WithStreamLimit(cfg Config, n int) Config {
	cfg.streamLimit = n
	return cfg
}

// WithListening returns cfg with the rule's check for a running local model
// or practice server replaced by listening.
func WithListening(cfg Config, listening func(baseURL string) bool) Config {
	cfg.listening = listening
	return cfg
}
