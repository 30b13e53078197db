package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Class is what every admission reads besides the student's own rows: the
// class's switches, how much an answer holds, prices, limits and the
// models allowed, as one version of the ledger holds them. A teacher's
// change bumps the version, and each reservation checks the version it was
// planned from (Reserve), so a cached Class is never acted on stale.
type Class struct {
	Version   int64
	PausedAll bool
	// Models is the teacher's allow-list of models and presets, if
	// ModelsSet; else the gateway's own default applies.
	Models    []string
	ModelsSet bool
	// ReserveOutputTokens is what an answer without an output cap holds
	// for its output; ReserveMinUSD the least any answer holds.
	ReserveOutputTokens int64
	ReserveMinUSD       float64
	prices              map[string]Price
	limits              map[string]limitRow // by scope: '*' and students' names
}

// Price is what a model costs, in USD per million tokens.
type Price struct{ Input, Output float64 }

// Cost is what in input and out output tokens cost at p.
func (p Price) Cost(in, out int64) float64 {
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6
}

// Price is the dearest price among engines (a request may fall back from
// one model to another), from the table ('*' as the fallback); unpriced is
// the first engine the table has no row for ("" when it priced every one,
// or there is none). A row of zeros is a price: the teacher's word that a
// model is free.
func (c *Class) Price(engines []string) (p Price, unpriced string) {
	for _, e := range engines {
		q, ok := c.prices[e]
		if !ok {
			q, ok = c.prices["*"]
		}
		if !ok {
			unpriced = cmp.Or(unpriced, e)
			continue
		}
		p = Price{max(p.Input, q.Input), max(p.Output, q.Output)}
	}
	return p, unpriced
}

// Limits are the limits that apply to student: hers over the class's defaults.
func (c *Class) Limits(student string) Effective {
	return c.limits[student].over(c.limits["*"])
}

// classCache is the Class as last read, and whether a change made or
// seen here means it must be read again before it is used.
type classCache struct {
	mu    sync.Mutex
	cur   *Class
	stale bool
}

// readClass reads the class as the transaction tx sees it, holding its
// version (FOR SHARE: no teacher's change commits meanwhile).
func readClass(ctx context.Context, tx q) (*Class, error) {
	c := &Class{prices: map[string]Price{}, limits: map[string]limitRow{}}
	if err := tx.row(ctx, `SELECT version FROM class_version`+tx.d.locking(" FOR SHARE")).Scan(&c.Version); err != nil {
		return nil, err
	}
	if err := c.readSettings(ctx, tx); err != nil {
		return nil, err
	}
	if err := c.readPrices(ctx, tx); err != nil {
		return nil, err
	}
	if err := c.readLimits(ctx, tx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Class) readSettings(ctx context.Context, tx q) error {
	rows, err := tx.rows(ctx, `SELECT key, value FROM settings`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		switch k {
		case "paused_all":
			c.PausedAll = v == "1"
		case "allowed_models":
			c.Models, c.ModelsSet = ParseModels(v), true
		case "reserve_output_tokens":
			if c.ReserveOutputTokens, err = strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("setting reserve_output_tokens: %w", err)
			}
		case "reserve_min_usd":
			if c.ReserveMinUSD, err = strconv.ParseFloat(v, 64); err != nil {
				return fmt.Errorf("setting reserve_min_usd: %w", err)
			}
		}
	}
	return rows.Err()
}

func (c *Class) readPrices(ctx context.Context, tx q) error {
	rows, err := tx.rows(ctx, `SELECT model, input_usd_per_mtok, output_usd_per_mtok FROM prices`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var model string
		var p Price
		if err := rows.Scan(&model, &p.Input, &p.Output); err != nil {
			return err
		}
		c.prices[model] = p
	}
	return rows.Err()
}

func (c *Class) readLimits(ctx context.Context, tx q) error {
	rows, err := tx.rows(ctx, `SELECT scope, tokens_per_day, usd_per_day, tokens_total, usd_total, requests_per_minute, concurrent_streams FROM limits`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var scope string
		var r limitRow
		if err := rows.Scan(&scope, &r.tokensPerDay, &r.usdPerDay, &r.tokensTotal, &r.usdTotal, &r.requestsPerMinute, &r.concurrentStreams); err != nil {
			return err
		}
		c.limits[scope] = r
	}
	return rows.Err()
}

// limitRow is one row of the limits table: NULL inherits the default.
type limitRow struct {
	tokensPerDay, tokensTotal, requestsPerMinute, concurrentStreams sql.NullInt64
	usdPerDay, usdTotal                                             sql.NullFloat64
}

// over is r with what it leaves unset taken from d, and 0 (no limit)
// where neither sets it.
func (r limitRow) over(d limitRow) Effective {
	i := func(a, b sql.NullInt64) int64 {
		if a.Valid {
			return a.Int64
		}
		return b.Int64
	}
	f := func(a, b sql.NullFloat64) float64 {
		if a.Valid {
			return a.Float64
		}
		return b.Float64
	}
	return Effective{TokensPerDay: i(r.tokensPerDay, d.tokensPerDay), USDPerDay: f(r.usdPerDay, d.usdPerDay),
		TokensTotal: i(r.tokensTotal, d.tokensTotal), USDTotal: f(r.usdTotal, d.usdTotal),
		RequestsPerMinute: i(r.requestsPerMinute, d.requestsPerMinute), ConcurrentStreams: i(r.concurrentStreams, d.concurrentStreams)}
}

// Effective are the limits that apply to one student: hers over the
// class's defaults; 0 is no limit.
type Effective struct {
	TokensPerDay      int64   `json:"tokens_per_day"`
	USDPerDay         float64 `json:"usd_per_day"`
	TokensTotal       int64   `json:"tokens_total"`
	USDTotal          float64 `json:"usd_total"`
	RequestsPerMinute int64   `json:"requests_per_minute"`
	ConcurrentStreams int64   `json:"concurrent_streams"`
}

// ParseModels splits a comma-separated list of models and presets.
func ParseModels(list string) []string {
	var out []string
	for _, m := range strings.Split(list, ",") {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}
