package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/streamdemo/streamdemo/internal/agentwire"
	"github.com/streamdemo/streamdemo/internal/classwire"
)

// ModelsEnv holds the default allow-list (comma-separated), e.g. the class's
// model as the classroom sets it.
const ModelsEnv = "STREAMDEMO_GATEWAY_MODELS"

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

// SetModels sets the models (and presets) students may ask for; nil goes
// back to the gateway's default (its --models, or any model).
func (l *Ledger) SetModels(models []string, who string) error {
	now := l.now()
	return l.tx(context.Background(), func(tx dbq) error {
		if models == nil {
			if _, err := tx.Exec(`DELETE FROM settings WHERE key = 'allowed_models'`); err != nil {
				return err
			}
			return logSwitch(tx, now, who, "allowed models: the gateway's default")
		}
		_, err := tx.Exec(`INSERT INTO settings VALUES ('allowed_models', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			strings.Join(models, ","))
		if err != nil {
			return err
		}
		return logSwitch(tx, now, who, "allowed models: "+strings.Join(models, ", "))
	})
}

// Models is the allow-list the teacher set, and whether one is set.
func (l *Ledger) Models(ctx context.Context) ([]string, bool, error) {
	var v string
	err := l.q().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'allowed_models'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return ParseModels(v), err == nil, err
}

// allowedModels is the list in force: the ledger's, else the default; empty
// allows any model.
func (g *Gateway) allowedModels(ctx context.Context) ([]string, error) {
	list, set, err := g.ledger.Models(ctx)
	if err != nil || set {
		return list, err
	}
	return g.models, nil
}

// allows says whether an entry of the list names engine (a model, or a
// preset as preset/NAME): as sent, or as the library sends a name the
// lesson uses (sonar-pro is preset low on the Agent API).
func allows(list []string, engine string) bool {
	for _, name := range list {
		e := agentwire.EngineFor(name)
		if engine == name || engine == "preset/"+name || engine == e.Model || (e.Preset != "" && engine == "preset/"+e.Preset) {
			return true
		}
	}
	return false
}

// checkModels refuses a request for a model or preset the class does not allow.
func (g *Gateway) checkModels(ctx context.Context, engines []string) *Refusal {
	allowed, err := g.allowedModels(ctx)
	if err != nil {
		g.logf("ledger: %v", err)
		return refuseLedger
	}
	if len(allowed) == 0 {
		return nil
	}
	ok := len(engines) > 0
	for _, e := range engines {
		ok = ok && allows(allowed, e)
	}
	if ok {
		return nil
	}
	return &Refusal{Status: http.StatusBadRequest, Type: classwire.ModelNotAllowed,
		Message: fmt.Sprintf("This class allows only %s: use one of these as the model.", strings.Join(allowed, ", "))}
}
