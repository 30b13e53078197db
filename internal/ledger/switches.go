package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// change runs fn in one transaction as a teacher's switch: first the
// class's version is bumped (so that a reservation under way is waited
// for and every later one, on any replica, sees the change; and so that
// every change takes its locks in one order), then fn, then what fn says
// it did is logged as who's switch.
func (l *Ledger) change(ctx context.Context, who string, fn func(context.Context, q) (what string, err error)) error {
	err := l.tx(ctx, func(tx q) error {
		if _, err := tx.exec(ctx, `UPDATE class_version SET version = version + 1`); err != nil {
			return err
		}
		what, err := fn(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO switches (at, who, what) VALUES (?, ?, ?)`, millis(l.now()), who, what)
		return err
	})
	if err == nil {
		l.changed()
	}
	return err
}

// PauseAll pauses (on) or resumes the whole class, e.g. for an exam.
// Answers already streaming finish; new requests are refused.
func (l *Ledger) PauseAll(on bool, who string) error {
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		if _, err := tx.exec(ctx, `UPDATE settings SET value = ? WHERE key = 'paused_all'`, fmt.Sprint(flag(on))); err != nil {
			return "", err
		}
		return onOff(on, "class paused (exam mode)", "class resumed"), nil
	})
}

// PauseStudent pauses (on) or resumes one student.
func (l *Ledger) PauseStudent(name string, on bool, who string) error {
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		res, err := tx.exec(ctx, `UPDATE students SET paused = ? WHERE name = ?`, flag(on), name)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil {
			return "", err
		} else if n == 0 {
			return "", &NoStudentError{name}
		}
		return onOff(on, name+" paused", name+" resumed"), nil
	})
}

// SetPrice sets what a model costs, in USD per million input and output
// tokens; model "*" prices every model not listed. Servers that report cost
// themselves (Perplexity's Agent API) are charged what they report.
func (l *Ledger) SetPrice(model string, inputPerMTok, outputPerMTok float64, who string) error {
	if !(inputPerMTok >= 0) || !(outputPerMTok >= 0) {
		return fmt.Errorf("a price %w", ErrNegativePrice)
	}
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		_, err := tx.exec(ctx, `INSERT INTO prices VALUES (?, ?, ?) ON CONFLICT (model) DO UPDATE
			SET input_usd_per_mtok = excluded.input_usd_per_mtok, output_usd_per_mtok = excluded.output_usd_per_mtok`,
			model, inputPerMTok, outputPerMTok)
		return fmt.Sprintf("price of %s: %g USD/Mtok in, %g USD/Mtok out", model, inputPerMTok, outputPerMTok), err
	})
}

// SetModels sets the models (and presets) students may ask for; nil goes
// back to the gateway's default (its --models, or any model).
func (l *Ledger) SetModels(models []string, who string) error {
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		if models == nil {
			_, err := tx.exec(ctx, `DELETE FROM settings WHERE key = 'allowed_models'`)
			return "allowed models: the gateway's default", err
		}
		_, err := tx.exec(ctx, `INSERT INTO settings VALUES ('allowed_models', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			strings.Join(models, ","))
		return "allowed models: " + strings.Join(models, ", "), err
	})
}

// Models is the allow-list the teacher set, and whether one is set.
func (l *Ledger) Models(ctx context.Context) ([]string, bool, error) {
	v, err := l.q().setting(ctx, "allowed_models")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return ParseModels(v), err == nil, err
}

func onOff(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}
