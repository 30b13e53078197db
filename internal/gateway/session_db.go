package gateway

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Sessions in the ledger, so that a teacher's session opened on one gateway
// replica goes on on every other. A row is found by the SHA-256 of the
// session id, and the token it was opened with is sealed (AES-256-GCM) with
// a key derived from the id: only the cookie's holder can open it, so the
// database never holds a usable token or session id.

func sessionKey(id string) string { return hashToken("session-row:" + id) }

func sessionAEAD(id string) cipher.AEAD {
	key := sha256.Sum256([]byte("session-token:" + id))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 32-byte key is always an AES-256 key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err) // AES always has a 16-byte block
	}
	return aead
}

func sealToken(id, token string) string {
	aead := sessionAEAD(id)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(token), nil))
}

func openToken(id, sealed string) (string, error) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	aead := sessionAEAD(id)
	if err != nil || len(b) < aead.NonceSize() {
		return "", fmt.Errorf("sealed token malformed")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
	return string(plain), err
}

// saveSession records a new session, dropping the expired ones and the
// least recently used beyond maxSessions.
func (l *Ledger) saveSession(sess *session, now time.Time) error {
	return l.tx(context.Background(), func(tx dbq) error {
		if _, err := tx.Exec(`DELETE FROM sessions WHERE seen < ? OR started < ?`,
			millis(now.Add(-sessionIdle)), millis(now.Add(-sessionMax))); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM sessions WHERE id_hash NOT IN
			(SELECT id_hash FROM sessions ORDER BY seen DESC LIMIT ?)`, maxSessions-1); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO sessions (id_hash, name, sealed_token, started, seen) VALUES (?, ?, ?, ?, ?)`,
			sessionKey(sess.id), sess.name, sealToken(sess.id, sess.token), millis(sess.started), millis(sess.seen))
		return err
	})
}

// loadSession finds the session id names, if any.
func (l *Ledger) loadSession(id string) (*session, bool, error) {
	var sealed string
	var started, seen int64
	sess := &session{id: id}
	err := l.q().QueryRow(`SELECT name, sealed_token, started, seen FROM sessions WHERE id_hash = ?`, sessionKey(id)).
		Scan(&sess.name, &sealed, &started, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if sess.token, err = openToken(id, sealed); err != nil {
		return nil, false, err
	}
	sess.started, sess.seen = time.UnixMilli(started), time.UnixMilli(seen)
	return sess, true, nil
}

// touchSession keeps a session alive for another idle period.
func (l *Ledger) touchSession(id string, now time.Time) error {
	_, err := l.q().Exec(`UPDATE sessions SET seen = ? WHERE id_hash = ?`, millis(now), sessionKey(id))
	return err
}

// dropSession ends a session.
func (l *Ledger) dropSession(id string) error {
	_, err := l.q().Exec(`DELETE FROM sessions WHERE id_hash = ?`, sessionKey(id))
	return err
}
