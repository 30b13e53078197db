// Package redact keeps an API key out of text that leaves the program:
// error messages, logs, forwarded answers and recordings.
package redact

import "bytes"

// Placeholder stands where a key, or a piece of one, was.
const Placeholder = "[redacted]"

// MinRun is the shortest run of a key's characters treated as a leak: a
// server that echoes half a key leaks it too.
const MinRun = 8

// Key hides one key. A nil *Key, or one made from an empty key, hides
// nothing.
type Key struct {
	run    int
	pieces map[string]bool // every run of the key's characters
	inKey  [256]bool       // the bytes the key holds
}

// New prepares key for hiding: the key, and every run of MinRun or more of
// its characters. A key shorter than MinRun is hidden wherever it appears
// whole.
func New(key string) *Key {
	k := &Key{run: min(MinRun, len(key)), pieces: map[string]bool{}}
	for i := 0; k.run > 0 && i+k.run <= len(key); i++ {
		k.pieces[key[i:i+k.run]] = true
	}
	for i := 0; i < len(key); i++ {
		k.inKey[key[i]] = true
	}
	return k
}

// String returns s with the key hidden; see New.
func String(s, key string) string { return New(key).String(s) }

// String returns s with the key hidden.
func (k *Key) String(s string) string { return string(k.Bytes([]byte(s))) }

// Bytes returns b with the key hidden: b itself when nothing is.
func (k *Key) Bytes(b []byte) []byte {
	if k == nil || k.run == 0 || len(b) < k.run {
		return b
	}
	var hide []bool
	for i := 0; i+k.run <= len(b); i++ {
		if j := k.outside(b[i : i+k.run]); j >= 0 {
			i += j // no window holding that byte can match
			continue
		}
		if !k.pieces[string(b[i:i+k.run])] {
			continue
		}
		if hide == nil {
			hide = make([]bool, len(b))
		}
		for j := i; j < i+k.run; j++ {
			hide[j] = true
		}
	}
	if hide == nil {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b))
	for i, c := range b {
		if !hide[i] {
			out.WriteByte(c)
		} else if i == 0 || !hide[i-1] {
			out.WriteString(Placeholder)
		}
	}
	return out.Bytes()
}

// outside returns the index of the last byte of w the key does not hold, or -1.
func (k *Key) outside(w []byte) int {
	for j := len(w) - 1; j >= 0; j-- {
		if !k.inKey[w[j]] {
			return j
		}
	}
	return -1
}
