package ledger

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

// Session is a teacher's login to the page, kept in the ledger so that a
// session opened on one gateway replica goes on on every other. A row is
// found by the SHA-256 of the session's id, and the token it was opened
// with is sealed (AES-256-GCM) with a key derived from the id: only the
// cookie's holder can open it, so the database never holds a usable token
// or session id.
type Session struct {
	ID      string // the random id the cookie carries
	Name    string // the teacher's
	Token   string // what it was opened with: it must stay a teacher's
	Started time.Time
	Seen    time.Time
}

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

// SaveSession records a new session, first dropping those that began
// before dropBefore or were last seen before idleBefore, and the least
// recently seen beyond the newest keep-1.
func (l *Ledger) SaveSession(s *Session, idleBefore, dropBefore time.Time, keep int) error {
	ctx := context.Background()
	return l.tx(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE seen < ? OR started < ?`, millis(idleBefore), millis(dropBefore)); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM sessions WHERE id_hash NOT IN
			(SELECT id_hash FROM sessions ORDER BY seen DESC LIMIT ?)`, keep-1); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO sessions (id_hash, name, sealed_token, started, seen) VALUES (?, ?, ?, ?, ?)`,
			sessionKey(s.ID), s.Name, sealToken(s.ID, s.Token), millis(s.Started), millis(s.Seen))
		return err
	})
}

// LoadSession finds the session id names, if any.
func (l *Ledger) LoadSession(id string) (*Session, bool, error) {
	var sealed string
	var started, seen int64
	s := &Session{ID: id}
	err := l.q().row(context.Background(), `SELECT name, sealed_token, started, seen FROM sessions WHERE id_hash = ?`, sessionKey(id)).
		Scan(&s.Name, &sealed, &started, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if s.Token, err = openToken(id, sealed); err != nil {
		return nil, false, err
	}
	s.Started, s.Seen = time.UnixMilli(started), time.UnixMilli(seen)
	return s, true, nil
}

// TouchSession records that session id was seen at now.
func (l *Ledger) TouchSession(id string, now time.Time) error {
	_, err := l.q().exec(context.Background(), `UPDATE sessions SET seen = ? WHERE id_hash = ?`, millis(now), sessionKey(id))
	return err
}

// DropSession ends a session.
func (l *Ledger) DropSession(id string) error {
	_, err := l.q().exec(context.Background(), `DELETE FROM sessions WHERE id_hash = ?`, sessionKey(id))
	return err
}

// CookieSecret is the secret that signs the teacher page's cookies, the
// same for every gateway on the ledger: with PostgreSQL one settings row,
// made by the first gateway and read by every other; with SQLite a file
// in dir, owner-only, made the first time.
func (l *Ledger) CookieSecret(dir string) ([]byte, error) {
	return l.dialect.cookieSecret(context.Background(), l.db, dir)
}
