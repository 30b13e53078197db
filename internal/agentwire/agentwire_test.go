package agentwire

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

func TestEngineFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Engine
	}{
		{"sonar", Engine{Model: "perplexity/sonar", Search: true}},
		{"Sonar-Pro", Engine{Preset: "low"}},
		{"sonar-reasoning-pro", Engine{Preset: "low"}},
		{"sonar-deep-research", Engine{Preset: "medium"}},
		{"HIGH", Engine{Preset: "high"}},
		{"wide-research", Engine{Preset: "wide-research"}},
		{"openai/gpt-5.4", Engine{Model: "openai/gpt-5.4", Search: true}},
		{"pro-search", Engine{Model: "pro-search", Search: true}}, // not a preset this table knows: sent as named
	} {
		if got := EngineFor(tc.name); got != tc.want {
			t.Errorf("EngineFor(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

const module = "github.com/streamdemo/streamdemo/"

// The client library and the class gateway share the Agent API's facts
// through this package, not through each other: neither imports the other,
// even indirectly.
func TestClientAndServerShareTheWireNotEachOther(t *testing.T) {
	for _, tc := range []struct{ from, never string }{
		{"internal/gateway", "pkg/streamdemo"},
		{"pkg/streamdemo", "internal/gateway"},
	} {
		deps := moduleDeps(t, tc.from)
		if slices.Contains(deps, tc.never) {
			t.Errorf("%s imports %s (its imports within the module: %s)", tc.from, tc.never, strings.Join(deps, ", "))
		}
		if !slices.Contains(deps, "internal/agentwire") {
			t.Errorf("%s does not read the wire through internal/agentwire (its imports within the module: %s)", tc.from, strings.Join(deps, ", "))
		}
	}
}

// moduleDeps lists the module's packages pkg imports, directly or not
// (tests left out), relative to the module's root.
func moduleDeps(t *testing.T, pkg string) []string {
	t.Helper()
	var deps []string
	var visit func(rel string)
	visit = func(rel string) {
		p, err := build.Import(module+rel, "../..", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			rel, ok := strings.CutPrefix(imp, module)
			if ok && !slices.Contains(deps, rel) {
				deps = append(deps, rel)
				visit(rel)
			}
		}
	}
	visit(pkg)
	slices.Sort(deps)
	return deps
}
