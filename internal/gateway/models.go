package gateway

import (
	"github.com/streamdemo/streamdemo/internal/agentwire"
	"github.com/streamdemo/streamdemo/internal/ledger"
)

// ModelsEnv holds the default allow-list (comma-separated), e.g. the class's
// model as the classroom sets it.
const ModelsEnv = "STREAMDEMO_GATEWAY_MODELS"

// allowedModels is the list in force: the teacher's, else the gateway's
// default; empty allows any model.
func allowedModels(c *ledger.Class, defaults []string) []string {
	if c.ModelsSet {
		return c.Models
	}
	return defaults
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

// checkModels refuses a request for a model or preset the list in force
// does not allow.
func checkModels(allowed, engines []string) *Refusal {
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
	return refuseModel(allowed)
}
