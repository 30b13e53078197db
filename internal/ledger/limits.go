package ledger

import (
	"context"
	"fmt"
	"strings"
)

// Limits are a student's budget, or the class's defaults. A nil field
// keeps what it was (for a student: inherit the class default); zero
// means no limit.
type Limits struct {
	TokensPerDay      *int64   `json:"tokens_per_day"`
	USDPerDay         *float64 `json:"usd_per_day"`
	TokensTotal       *int64   `json:"tokens_total"`
	USDTotal          *float64 `json:"usd_total"`
	RequestsPerMinute *int64   `json:"requests_per_minute"`
	ConcurrentStreams *int64   `json:"concurrent_streams"`
}

// limitColumn is one column of the limits table and the field it holds.
type limitColumn struct {
	name string
	val  any // *int64 or *float64; nil pointer: not set
}

// columns pairs each column with its field, in one place.
func (lim *Limits) columns() []limitColumn {
	return []limitColumn{
		{"tokens_per_day", lim.TokensPerDay}, {"usd_per_day", lim.USDPerDay},
		{"tokens_total", lim.TokensTotal}, {"usd_total", lim.USDTotal},
		{"requests_per_minute", lim.RequestsPerMinute}, {"concurrent_streams", lim.ConcurrentStreams},
	}
}

// set says whether the column's field holds a value.
func (c limitColumn) set() bool {
	switch p := c.val.(type) {
	case *int64:
		return p != nil
	case *float64:
		return p != nil
	}
	return false
}

// Describe lists the limits set, e.g. " (tokens_per_day=5000)", for the
// switch log; "" when none is.
func (lim Limits) Describe() string {
	var parts []string
	for _, c := range lim.columns() {
		switch v := c.val.(type) {
		case *int64:
			if v != nil {
				parts = append(parts, fmt.Sprintf("%s=%d", c.name, *v))
			}
		case *float64:
			if v != nil {
				parts = append(parts, fmt.Sprintf("%s=%g", c.name, *v))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// check refuses a negative (or NaN) limit.
func (lim Limits) check() error {
	for _, c := range lim.columns() {
		iv, isInt := c.val.(*int64)
		fv, isFloat := c.val.(*float64)
		if (isInt && iv != nil && *iv < 0) || (isFloat && fv != nil && !(*fv >= 0)) {
			return fmt.Errorf("the limit %s %w", c.name, ErrNegativeLimit)
		}
	}
	return nil
}

// Empty says whether lim sets no limit at all.
func (lim Limits) Empty() bool { return lim.Describe() == "" }

// setLimits writes the fields of lim that are set, for scope ('*' or a name).
func setLimits(ctx context.Context, tx q, scope string, lim Limits) error {
	if _, err := tx.exec(ctx, `INSERT INTO limits (scope) VALUES (?) ON CONFLICT (scope) DO NOTHING`, scope); err != nil {
		return err
	}
	for _, c := range lim.columns() {
		if !c.set() {
			continue
		}
		if _, err := tx.exec(ctx, `UPDATE limits SET `+c.name+` = ? WHERE scope = ?`, c.val, scope); err != nil {
			return err
		}
	}
	return nil
}

// SetLimits changes the class defaults (name "*") or one student's limits,
// logged as a switch; it applies to the next request, without a restart.
func (l *Ledger) SetLimits(name string, lim Limits, who string) error {
	if err := lim.check(); err != nil {
		return err
	}
	return l.change(context.Background(), who, func(ctx context.Context, tx q) (string, error) {
		if name != "*" {
			var n int
			if err := tx.row(ctx, `SELECT COUNT(*) FROM students WHERE name = ?`, name).Scan(&n); err != nil {
				return "", err
			}
			if n == 0 {
				return "", &NoStudentError{name}
			}
		}
		if err := setLimits(ctx, tx, name, lim); err != nil {
			return "", err
		}
		target := "class defaults"
		if name != "*" {
			target = name
		}
		return "limits for " + target + lim.Describe(), nil
	})
}
