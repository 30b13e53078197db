package streamdemo

import "os"

// WithStreamLimit returns cfg with MaxStreamBytes lowered to n, so that a
// test reaches the limit quickly even under the race detector.
func WithStreamLimit(cfg Config, n int) Config {
	cfg.streamLimit = n
	return cfg
}

// WithListening returns cfg with the rule's check for a running local model
// or practice server replaced by listening; this account runs every server
// that answers.
func WithListening(cfg Config, listening func(baseURL string) bool) Config {
	mine := func(string) ([]int, error) { return []int{os.Getuid()}, nil }
	cfg.local = localProbe{listening: listening, owners: mine}
	return cfg
}

// WithOwners returns cfg whose rule learns who listens at a host:port from
// owners instead of /proc/net/tcp.
func WithOwners(cfg Config, owners func(hostport string) ([]int, error)) Config {
	cfg.local.owners = owners
	return cfg
}

// WithEnv returns cfg reading the environment from env alone, as if no
// other variable were set, so that tests need not change the process's.
func WithEnv(cfg Config, env map[string]string) Config {
	cfg.getenv = func(name string) string { return env[name] }
	return cfg
}

// Isolated returns cfg with an empty environment, unless it has its own.
func Isolated(cfg Config) Config {
	if cfg.getenv == nil {
		return WithEnv(cfg, nil)
	}
	return cfg
}
