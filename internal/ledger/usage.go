package ledger

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
	Defaults  Effective      `json:"defaults"`
	Students  []StudentUsage `json:"students"`
	Totals    Totals         `json:"totals"`
	Spend     []SpendPoint   `json:"spend_today"` // cumulative, per minute
	Switches  []Switch       `json:"switches"`    // newest first
	// Models are the models and presets students may ask for, as the
	// teacher set them if ModelsSet (the gateway shows its own default
	// where she set none); empty: any.
	Models    []string `json:"allowed_models"`
	ModelsSet bool     `json:"-"`
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
	Limits        Effective  `json:"limits"`
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

// Usage builds the report. Its Models are the teacher's list (empty when
// none is set: the gateway shows its own default then).
func (l *Ledger) Usage(ctx context.Context) (*Report, error) {
	now := l.now()
	rep := &Report{Day: day(now), Students: []StudentUsage{}, Spend: []SpendPoint{}, Switches: []Switch{}, Models: []string{}}
	class, err := l.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	rep.PausedAll, rep.Defaults = class.PausedAll, class.Limits("*")
	if class.ModelsSet {
		rep.Models, rep.ModelsSet = append(rep.Models, class.Models...), true
	}
	rows, err := l.q().rows(ctx, studentQuery, rep.Day)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var s StudentUsage
		var last sql.NullInt64
		var teacher, paused int64
		if err := rows.Scan(&s.Name, &teacher, &paused, &s.Revoked, &s.Requests, &s.RequestsToday, &s.TokensToday,
			&s.USDToday, &s.TokensTotal, &s.USDTotal, &s.Estimated, &s.OpenStreams, &last); err != nil {
			rows.Close()
			return nil, err
		}
		if last.Valid {
			t := time.UnixMilli(last.Int64)
			s.LastActivity = &t
		}
		s.Teacher, s.Paused, s.Limits = teacher != 0, paused != 0, class.Limits(s.Name)
		rep.Students = append(rep.Students, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	err = l.q().row(ctx, `SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
		COALESCE(SUM(cost_usd), 0) FROM requests WHERE state != 'open'`).Scan(
		&rep.Totals.Requests, &rep.Totals.InputTokens, &rep.Totals.OutputTokens, &rep.Totals.USD)
	if err != nil {
		return nil, err
	}
	if rep.Spend, err = l.spendToday(ctx, rep.Day); err != nil {
		return nil, err
	}
	if rep.KeyRefused, err = l.KeyRefusal(ctx); err != nil {
		return nil, err
	}
	rep.Switches, err = l.switches(ctx, 20)
	return rep, err
}

func (l *Ledger) spendToday(ctx context.Context, today string) ([]SpendPoint, error) {
	rows, err := l.q().rows(ctx, `SELECT ended_at / 60000, SUM(cost_usd) FROM requests
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
	rows, err := l.q().rows(ctx, `SELECT at, who, what FROM switches ORDER BY id DESC LIMIT ?`, n)
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
