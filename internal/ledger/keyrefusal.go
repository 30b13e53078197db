package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// KeyRefusal is the teacher's line about the last refusal of the class's
// upstream key.
type KeyRefusal struct {
	At     time.Time `json:"at"`
	Status int       `json:"status"`
}

// NoteKeyRefused records that the upstream refused the class's key with
// status, or (status 0) that it accepts it again.
func (l *Ledger) NoteKeyRefused(status int) error {
	ctx := context.Background()
	return l.tx(ctx, func(tx q) error {
		if status == 0 {
			_, err := tx.exec(ctx, `DELETE FROM settings WHERE key IN ('key_refused_at', 'key_refused_status')`)
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO settings VALUES ('key_refused_at', ?), ('key_refused_status', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(millis(l.now()), 10), strconv.Itoa(status))
		return err
	})
}

// KeyRefusal is the recorded refusal of the key, or nil.
func (l *Ledger) KeyRefusal(ctx context.Context) (*KeyRefusal, error) {
	at, err := l.q().setting(ctx, "key_refused_at")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := l.q().setting(ctx, "key_refused_status")
	if err != nil {
		return nil, err
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("setting key_refused_at: %w", err)
	}
	status, err := strconv.Atoi(st)
	if err != nil {
		return nil, fmt.Errorf("setting key_refused_status: %w", err)
	}
	return &KeyRefusal{At: time.UnixMilli(ms), Status: status}, nil
}
