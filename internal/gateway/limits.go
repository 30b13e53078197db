package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Limits are a student's budget. A nil field keeps what it was (for a
// student: inherit the class default); zero means no limit.
type Limits struct {
	TokensPerDay      *int64   `json:"tokens_per_day"`
	USDPerDay         *float64 `json:"usd_per_day"`
	TokensTotal       *int64   `json:"tokens_total"`
	USDTotal          *float64 `json:"usd_total"`
	RequestsPerMinute *int64   `json:"requests_per_minute"`
	ConcurrentStreams *int64   `json:"concurrent_streams"`
}

// limitColumns pairs each column with its field, in one place.
func (lim *Limits) columns() []struct {
	name string
	val  any
} {
	return []struct {
		name string
		val  any
	}{
		{"tokens_per_day", lim.TokensPerDay}, {"usd_per_day", lim.USDPerDay},
		{"tokens_total", lim.TokensTotal}, {"usd_total", lim.USDTotal},
		{"requests_per_minute", lim.RequestsPerMinute}, {"concurrent_streams", lim.ConcurrentStreams},
	}
}

// describe lists the limits set, for the switch log.
func (lim Limits) describe() string {
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

func (lim Limits) empty() bool { return lim.describe() == "" }

// setLimits writes the fields of lim that are set, for scope ('*' or a name).
func setLimits(tx dbq, scope string, lim Limits) error {
	if _, err := tx.Exec(`INSERT INTO limits (scope) VALUES (?) ON CONFLICT (scope) DO NOTHING`, scope); err != nil {
		return err
	}
	for _, c := range lim.columns() {
		if isNil(c.val) {
			continue
		}
		if _, err := tx.Exec(`UPDATE limits SET `+c.name+` = ? WHERE scope = ?`, c.val, scope); err != nil {
			return err
		}
	}
	return nil
}

func isNil(v any) bool {
	switch p := v.(type) {
	case *int64:
		return p == nil
	case *float64:
		return p == nil
	}
	return true
}

// SetLimits changes the class defaults (name "*") or one student's limits,
// logged as a switch; it applies to the next request, without a restart.
func (l *Ledger) SetLimits(name string, lim Limits, who string) error {
	if err := lim.check(); err != nil {
		return err
	}
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		if name != "*" {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM students WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return &NoStudentError{name}
			}
		}
		if err := setLimits(tx, name, lim); err != nil {
			return err
		}
		target := "class defaults"
		if name != "*" {
			target = name
		}
		return logSwitch(tx, now, who, "limits for "+target+lim.describe())
	})
}

// effective are the limits that apply to one student: theirs over the defaults.
type effective struct {
	TokensPerDay      int64   `json:"tokens_per_day"`
	USDPerDay         float64 `json:"usd_per_day"`
	TokensTotal       int64   `json:"tokens_total"`
	USDTotal          float64 `json:"usd_total"`
	RequestsPerMinute int64   `json:"requests_per_minute"`
	ConcurrentStreams int64   `json:"concurrent_streams"`
}

const effectiveQuery = `SELECT
	COALESCE(s.tokens_per_day, d.tokens_per_day, 0), COALESCE(s.usd_per_day, d.usd_per_day, 0),
	COALESCE(s.tokens_total, d.tokens_total, 0), COALESCE(s.usd_total, d.usd_total, 0),
	COALESCE(s.requests_per_minute, d.requests_per_minute, 0), COALESCE(s.concurrent_streams, d.concurrent_streams, 0)
	FROM limits d LEFT JOIN limits s ON s.scope = ? WHERE d.scope = '*'`

func effectiveLimits(q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, ctx context.Context, name string) (effective, error) {
	var e effective
	err := q.QueryRowContext(ctx, effectiveQuery, name).Scan(&e.TokensPerDay, &e.USDPerDay, &e.TokensTotal, &e.USDTotal,
		&e.RequestsPerMinute, &e.ConcurrentStreams)
	return e, err
}
