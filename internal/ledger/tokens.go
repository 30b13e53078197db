package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
)

// TokenPrefix starts every token the ledger issues, so one found in a
// notebook or a log is recognisable as a class gateway token.
const TokenPrefix = "sdg_"

// Holder is who holds a token the ledger issued.
type Holder struct {
	Name    string
	Teacher bool // may read everyone's usage and flip switches
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// checkName refuses names that would be hard to read or type.
func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%w %q", ErrBadName, name)
	}
	return nil
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is what the ledger stores instead of a token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AddToken issues a new token for name (creating the student, or replacing
// a lost or revoked token), sets the student's own limits where given, and
// returns the token: the only time it exists outside the caller's hands.
func (l *Ledger) AddToken(name string, teacher bool, own Limits, who string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := own.check(); err != nil {
		return "", err
	}
	token := newToken()
	err := l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		_, err := tx.exec(ctx, `INSERT INTO students (name, token_hash, teacher, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, teacher = excluded.teacher, revoked_at = NULL`,
			name, hashToken(token), flag(teacher), millis(l.now()))
		if err != nil {
			return "", err
		}
		if err := setLimits(ctx, tx, name, own); err != nil {
			return "", err
		}
		return fmt.Sprintf("token issued for %s %s%s", onOff(teacher, "teacher", "student"), name, own.Describe()), nil
	})
	return token, err
}

// RevokeToken makes name's token stop working at once; the usage stays.
func (l *Ledger) RevokeToken(name, who string) error {
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		res, err := tx.exec(ctx, `UPDATE students SET revoked_at = ?, token_hash = NULL WHERE name = ? AND token_hash IS NOT NULL`,
			millis(l.now()), name)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil {
			return "", err
		} else if n == 0 {
			return "", fmt.Errorf("%w for %q", ErrNoToken, name)
		}
		return "token revoked for " + name, nil
	})
}

// LookupToken says who holds token, if anyone.
func (l *Ledger) LookupToken(ctx context.Context, token string) (Holder, bool, error) {
	var h Holder
	var teacher int64
	err := l.q().row(ctx, `SELECT name, teacher FROM students WHERE token_hash = ? AND revoked_at IS NULL`,
		hashToken(token)).Scan(&h.Name, &teacher)
	if errors.Is(err, sql.ErrNoRows) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, err
	}
	h.Teacher = teacher != 0
	return h, true, nil
}

// EnsureStudent records a student known elsewhere (a hub user) the first
// time she asks.
func (l *Ledger) EnsureStudent(ctx context.Context, name string) error {
	_, err := l.q().exec(ctx, `INSERT INTO students (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, millis(l.now()))
	return err
}
