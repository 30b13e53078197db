package gateway

import (
	"fmt"
	"os"
	"strings"
)

// KeyEnv is the environment variable that may hold the upstream key.
const KeyEnv = "STREAMDEMO_UPSTREAM_KEY"

// LoadKey reads the upstream key from file (which only its owner may read,
// or root and the gateway's group as Kubernetes mounts a Secret)
// or, with no file, from KeyEnv. An empty key is allowed: local servers
// (Ollama, the practice server) need none.
func LoadKey(file string) (string, error) {
	if file == "" {
		return strings.TrimSpace(os.Getenv(KeyEnv)), nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("cannot read the key file %s: %w", file, err)
	}
	if perm := info.Mode().Perm(); !keyModeOK(info) {
		return "", fmt.Errorf("the key file %s %w (mode %04o)", file, ErrKeyFileOpen, perm)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cannot read the key file %s: %w", file, err)
	}
	return strings.TrimSpace(string(b)), nil
}
