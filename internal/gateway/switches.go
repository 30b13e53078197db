package gateway

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
)

// PauseAll pauses (on) or resumes the whole class, e.g. for an exam.
// Answers already streaming finish; new requests get 403.
func (l *Ledger) PauseAll(on bool, who string) error {
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		if _, err := tx.Exec(`UPDATE settings SET value = ? WHERE key = 'paused_all'`, boolDigit(on)); err != nil {
			return err
		}
		return logSwitch(tx, now, who, onOff(on, "class paused (exam mode)", "class resumed"))
	})
}

// PauseStudent pauses (on) or resumes one student.
func (l *Ledger) PauseStudent(name string, on bool, who string) error {
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		res, err := tx.Exec(`UPDATE students SET paused = ? WHERE name = ?`, on, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &NoStudentError{name}
		}
		return logSwitch(tx, now, who, onOff(on, name+" paused", name+" resumed"))
	})
}

// SetPrice sets what a model costs, in USD per million input and output
// tokens; model "*" prices every model not listed. Servers that report cost
// themselves (Perplexity's Agent API) are charged what they report.
func (l *Ledger) SetPrice(model string, inputPerMTok, outputPerMTok float64, who string) error {
	if inputPerMTok < 0 || outputPerMTok < 0 {
		return fmt.Errorf("a price %w", ErrNegativePrice)
	}
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		_, err := tx.Exec(`INSERT INTO prices VALUES (?, ?, ?) ON CONFLICT (model) DO UPDATE
			SET input_usd_per_mtok = excluded.input_usd_per_mtok, output_usd_per_mtok = excluded.output_usd_per_mtok`,
			model, inputPerMTok, outputPerMTok)
		if err != nil {
			return err
		}
		return logSwitch(tx, now, who, fmt.Sprintf("price of %s: %g USD/Mtok in, %g USD/Mtok out", model, inputPerMTok, outputPerMTok))
	})
}

// price is what a model costs per million tokens.
type price struct{ Input, Output float64 }

// priceOf is the dearest price among engines (a request may fall back from
// one model to another), from the table ('*' as the fallback); unpriced is
// the first engine the table has no row for ("" when it priced every one,
// or there is none). A row of zeros is a price: the teacher's word that a
// model is free.
func (l *Ledger) priceOf(ctx context.Context, engines []string) (p price, unpriced string, err error) {
	for _, e := range engines {
		var q price
		err := l.q().QueryRowContext(ctx, `SELECT input_usd_per_mtok, output_usd_per_mtok FROM prices
			WHERE model IN (?, '*') ORDER BY model = '*' LIMIT 1`, e).Scan(&q.Input, &q.Output)
		if errors.Is(err, sql.ErrNoRows) {
			unpriced = cmp.Or(unpriced, e)
			continue
		}
		if err != nil {
			return price{}, "", err
		}
		p = price{max(p.Input, q.Input), max(p.Output, q.Output)}
	}
	return p, unpriced, nil
}

func (p price) cost(in, out int64) float64 {
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
}

// reserveSettings are how much an answer holds while it streams.
func (l *Ledger) reserveSettings(ctx context.Context) (outputTokens int64, minUSD float64, err error) {
	v, err := setting(l.q(), "reserve_output_tokens")
	if err != nil {
		return 0, 0, err
	}
	if outputTokens, err = strconv.ParseInt(v, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("setting reserve_output_tokens: %w", err)
	}
	v, err = setting(l.q(), "reserve_min_usd")
	if err != nil {
		return 0, 0, err
	}
	if minUSD, err = strconv.ParseFloat(v, 64); err != nil {
		return 0, 0, fmt.Errorf("setting reserve_min_usd: %w", err)
	}
	return outputTokens, minUSD, nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func onOff(on bool, yes, no string) string {
	if on {
		return yes
	}
	return no
}
