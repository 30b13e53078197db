package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// tokenPrefix starts every standalone token, so one found in a notebook or
// a log is recognisable as a class gateway token.
const tokenPrefix = "sdg_"

// Identity is who a request comes from.
type Identity struct {
	Name    string // the student's (or teacher's) name in the ledger
	Teacher bool   // may read everyone's usage and flip switches
	Student bool   // may ask the model through the gateway
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
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
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
	now := l.now()
	err := l.tx(context.Background(), func(tx dbq) error {
		_, err := tx.Exec(`INSERT INTO students (name, token_hash, teacher, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, teacher = excluded.teacher, revoked_at = NULL`,
			name, hashToken(token), teacher, millis(now))
		if err != nil {
			return err
		}
		if err := setLimits(tx, name, own); err != nil {
			return err
		}
		role := "student"
		if teacher {
			role = "teacher"
		}
		return logSwitch(tx, now, who, fmt.Sprintf("token issued for %s %s%s", role, name, own.describe()))
	})
	return token, err
}

// RevokeToken makes name's token stop working at once; the usage stays.
func (l *Ledger) RevokeToken(name, who string) error {
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		res, err := tx.Exec(`UPDATE students SET revoked_at = ?, token_hash = NULL WHERE name = ? AND token_hash IS NOT NULL`, millis(now), name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w for %q", ErrNoToken, name)
		}
		return logSwitch(tx, now, who, "token revoked for "+name)
	})
}

// lookupToken says who holds token, if anyone.
func (l *Ledger) lookupToken(ctx context.Context, token string) (Identity, bool, error) {
	var id Identity
	err := l.q().QueryRowContext(ctx, `SELECT name, teacher FROM students WHERE token_hash = ? AND revoked_at IS NULL`,
		hashToken(token)).Scan(&id.Name, &id.Teacher)
	if errors.Is(err, sql.ErrNoRows) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, err
	}
	id.Student = true
	return id, true, nil
}

// ensureStudent records a hub user the first time they ask.
func (l *Ledger) ensureStudent(ctx context.Context, name string) error {
	_, err := l.q().ExecContext(ctx, `INSERT INTO students (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, millis(l.now()))
	return err
}

// tokenAuth checks standalone tokens against the ledger.
type tokenAuth struct{ ledger *Ledger }

func (a tokenAuth) identify(r *http.Request, token string) (Identity, bool, error) {
	if token == "" {
		return Identity{}, false, nil
	}
	return a.ledger.lookupToken(r.Context(), token)
}
