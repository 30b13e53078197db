package gateway

import (
	"context"
	"database/sql"
	"time"
)

// Report is everything the teacher sees: each student's use and limits,
// the class totals, spend over today and the latest switches. GET /usage
// returns it as JSON; "streamdemo gateway usage" prints it.
type Report struct {
	Day       string         `json:"day"`
	PausedAll bool           `json:"paused_all"`
	Defaults  effective      `json:"defaults"`
	Students  []StudentUsage `json:"students"`
	Totals    Totals         `json:"totals"`
	Spend     []SpendPoint   `json:"spend_today"` // cumulative, per minute
	Switches  []Switch       `json:"switches"`    // newest first
	// Models are the models and presets students may ask for; empty: any.
	Models []string `json:"allowed_models"`
	// KeyRefused is set while the upstream refuses the class's key.
	KeyRefused *KeyRefusal `json:"key_refused"`
}

// StudentUsage is one student's line in the report.
type StudentUsage struct {
	Name          string     `json:"name"`
	Teacher       bool       `json:"teacher"`
	Paused        bool       `json:"paused"`
	Revoked       bool       `json:"revoked"`
	Requests      int64      `json:"requests"`
	RequestsToday int64      `json:"requests_today"`
	TokensToday   int64      `json:"tokens_today"`
	USDToday      float64    `json:"usd_today"`
	TokensTotal   int64      `json:"tokens_total"`
	USDTotal      float64    `json:"usd_total"`
	Estimated     int64      `json:"estimated"` // answers charged by estimate (broken streams)
	OpenStreams   int64      `json:"open_streams"`
	LastActivity  *time.Time `json:"last_activity"`
	Limits        effective  `json:"limits"`
}

// Totals are the class's sums.
type Totals struct {
	Requests     int64   `json:"requests"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	USD          float64 `json:"usd"`
}

// SpendPoint is the class's spend so far today at a minute.
type SpendPoint struct {
	At  time.Time `json:"at"`
	USD float64   `json:"usd"`
}

// Switch is one logged change.
type Switch struct {
	At   time.Time `json:"at"`
	Who  string    `json:"who"`
	What string    `json:"what"`
}

const studentQuery = `SELECT s.name, s.teacher, s.paused, s.revoked_at IS NOT NULL,
	COUNT(r.id),
	COALESCE(SUM(CASE WHEN r.day = ?1 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN r.day = ?1 AND r.state != 'open' THEN r.input_tokens + r.output_tokens END), 0),
	COALESCE(SUM(CASE WHEN r.day = ?1 AND r.state != 'open' THEN r.cost_usd END), 0),
	COALESCE(SUM(CASE WHEN r.state != 'open' THEN r.input_tokens + r.output_tokens END), 0),
	COALESCE(SUM(CASE WHEN r.state != 'open' THEN r.cost_usd END), 0),
	COALESCE(SUM(r.estimated), 0),
	COALESCE(SUM(CASE WHEN r.state = 'open' THEN 1 ELSE 0 END), 0),
	MAX(COALESCE(r.ended_at, r.started_at))
	FROM students s LEFT JOIN requests r ON r.student = s.name
	GROUP BY s.name ORDER BY s.name`

// Usage builds the report.
func (l *Ledger) Usage(ctx context.Context) (*Report, error) {
	now := l.now()
	rep := &Report{Day: day(now), Students: []StudentUsage{}, Spend: []SpendPoint{}, Switches: []Switch{}}
	v, err := setting(l.q(), "paused_all")
	if err != nil {
		return nil, err
	}
	rep.PausedAll = v == "1"
	rows, err := l.q().QueryContext(ctx, studentQuery, rep.Day)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s StudentUsage
		var last sql.NullInt64
		if err := rows.Scan(&s.Name, &s.Teacher, &s.Paused, &s.Revoked, &s.Requests, &s.RequestsToday, &s.TokensToday,
			&s.USDToday, &s.TokensTotal, &s.USDTotal, &s.Estimated, &s.OpenStreams, &last); err != nil {
			rows.Close()
			return nil, err
		}
		if last.Valid {
			t := time.UnixMilli(last.Int64)
			s.LastActivity = &t
		}
		rep.Students = append(rep.Students, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rep.Defaults, err = effectiveLimits(l.q(), ctx, "*"); err != nil {
		return nil, err
	}
	for i := range rep.Students {
		if rep.Students[i].Limits, err = effectiveLimits(l.q(), ctx, rep.Students[i].Name); err != nil {
			return nil, err
		}
	}
	err = l.q().QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
		COALESCE(SUM(cost_usd), 0) FROM requests WHERE state != 'open'`).Scan(
		&rep.Totals.Requests, &rep.Totals.InputTokens, &rep.Totals.OutputTokens, &rep.Totals.USD)
	if err != nil {
		return nil, err
	}
	if rep.Spend, err = l.spendToday(ctx, rep.Day); err != nil {
		return nil, err
	}
	if rep.KeyRefused, err = l.keyRefusal(); err != nil {
		return nil, err
	}
	if rep.Models, _, err = l.Models(ctx); err != nil {
		return nil, err
	}
	rep.Switches, err = l.switches(ctx, 20)
	return rep, err
}

func (l *Ledger) spendToday(ctx context.Context, today string) ([]SpendPoint, error) {
	rows, err := l.q().QueryContext(ctx, `SELECT ended_at / 60000, SUM(cost_usd) FROM requests
		WHERE day = ? AND state != 'open' GROUP BY 1 ORDER BY 1`, today)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	points := []SpendPoint{}
	sum := 0.0
	for rows.Next() {
		var minute int64
		var usd float64
		if err := rows.Scan(&minute, &usd); err != nil {
			return nil, err
		}
		sum += usd
		points = append(points, SpendPoint{At: time.UnixMilli(minute * 60000), USD: sum})
	}
	return points, rows.Err()
}

func (l *Ledger) switches(ctx context.Context, n int) ([]Switch, error) {
	rows, err := l.q().QueryContext(ctx, `SELECT at, who, what FROM switches ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Switch{}
	for rows.Next() {
		var at int64
		var s Switch
		if err := rows.Scan(&at, &s.Who, &s.What); err != nil {
			return nil, err
		}
		s.At = time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}
