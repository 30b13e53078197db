package streamdemo

import "strings"

// minSecretRun is the shortest run of key characters treated as a leak.
const minSecretRun = 8

// redact replaces the key, and any run of minSecretRun or more of its
// characters, with "[redacted]", so a server that echoes the key cannot leak
// it through an error message.
func redact(s, key string) string {
	if len(key) < minSecretRun || len(s) < minSecretRun {
		return s
	}
	hide := make([]bool, len(s))
	found := false
	for i := 0; i+minSecretRun <= len(s); i++ {
		if strings.Contains(key, s[i:i+minSecretRun]) {
			for j := i; j < i+minSecretRun; j++ {
				hide[j] = true
			}
			found = true
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !hide[i] {
			b.WriteByte(s[i])
		} else if i == 0 || !hide[i-1] {
			b.WriteString("[redacted]")
		}
	}
	return b.String()
}
