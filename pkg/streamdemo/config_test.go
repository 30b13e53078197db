package streamdemo_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

func TestCodeWinsOverEnvironmentWhichWinsOverDefaults(t *testing.T) {
	t.Parallel()
	if got := newClient(t, streamdemo.Config{APIKey: testKey}).String(); got != "perplexity (Agent API) at https://api.perplexity.ai/v1, model sonar-pro" {
		t.Errorf("defaults: %q", got)
	}
	env := map[string]string{"STREAMDEMO_PROVIDER": "ollama", "STREAMDEMO_MODEL": "llama3.2"}
	if got := newClient(t, streamdemo.WithEnv(streamdemo.Config{}, env)).String(); got != "ollama (chat completions) at http://127.0.0.1:11434/v1, model llama3.2" {
		t.Errorf("environment: %q", got)
	}
	got := newClient(t, streamdemo.WithEnv(streamdemo.Config{Provider: "compatible", BaseURL: "http://10.0.0.5:8080/v1/", Model: "qwen"}, env)).String()
	if got != "compatible (chat completions) at http://10.0.0.5:8080/v1, model qwen" {
		t.Errorf("code: %q", got)
	}
}

func TestMissingKeyNamesTheVariableAndTheFile(t *testing.T) {
	t.Parallel()
	for provider, variable := range map[string]string{"perplexity": "PERPLEXITY_API_KEY", "openai": "OPENAI_API_KEY"} {
		_, err := streamdemo.NewClient(streamdemo.Isolated(streamdemo.Config{Provider: provider}))
		if hint := streamdemo.Hint(err); !errors.Is(err, streamdemo.ErrNoKey) || !strings.Contains(hint, variable+"=") || !strings.Contains(hint, ".env") {
			t.Errorf("%s: got %v (%q), want ErrNoKey naming %s and .env", provider, err, hint, variable)
		}
	}
}

func TestUnknownProviderIsAConfigError(t *testing.T) {
	t.Parallel()
	_, err := streamdemo.NewClient(streamdemo.Isolated(streamdemo.Config{Provider: "perplexcity"}))
	if !errors.Is(err, streamdemo.ErrConfig) || !strings.Contains(err.Error(), "perplexity, openai") {
		t.Fatalf("got %v", err)
	}
}

// Not parallel: LoadEnv sets the process's environment.
func TestLoadEnvReadsParentsUpToTheRepositoryRoot(t *testing.T) {
	// Blank, and restored after the test, whatever LoadEnv sets.
	for _, name := range []string{"STREAMDEMO_PROVIDER", "STREAMDEMO_MODEL", "PERPLEXITY_API_KEY", "OPENAI_API_KEY"} {
		t.Setenv(name, "")
	}
	root := t.TempDir()
	nb := filepath.Join(root, "notebooks")
	os.MkdirAll(nb, 0o755)
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".env"), []byte("PERPLEXITY_API_KEY="+testKey+"\nSTREAMDEMO_MODEL=from-root\n"), 0o600)
	os.WriteFile(filepath.Join(nb, ".env"), []byte("STREAMDEMO_MODEL=from-notebooks\n"), 0o600)
	// A .env above the repository root must not be read.
	os.WriteFile(filepath.Join(filepath.Dir(root), ".env"), []byte("OPENAI_API_KEY=outside\n"), 0o600)
	t.Cleanup(func() { os.Remove(filepath.Join(filepath.Dir(root), ".env")) })
	t.Chdir(nb)
	t.Setenv("STREAMDEMO_PROVIDER", "set-by-shell")

	env, err := streamdemo.LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := env.String(); got != "loaded .env, ../.env (PERPLEXITY_API_KEY, STREAMDEMO_MODEL)" {
		t.Errorf("String() = %q", got)
	}
	if strings.Contains(env.String(), testKey[:8]) || strings.Contains(env.String(), root) {
		t.Errorf("String() shows a value or a machine path: %q", env.String())
	}
	if os.Getenv("STREAMDEMO_MODEL") != "from-notebooks" || os.Getenv("PERPLEXITY_API_KEY") != testKey {
		t.Errorf("the nearest .env should win: model %q", os.Getenv("STREAMDEMO_MODEL"))
	}
	if os.Getenv("STREAMDEMO_PROVIDER") != "set-by-shell" || os.Getenv("OPENAI_API_KEY") != "" {
		t.Error("a variable set by the shell was overridden, or a .env outside the repository was read")
	}
	if !env.Has("PERPLEXITY_API_KEY") {
		t.Error("Has(PERPLEXITY_API_KEY) = false")
	}
	// Which file each value in effect came from; the shell's own is none.
	for name, want := range map[string]string{"PERPLEXITY_API_KEY": "../.env", "STREAMDEMO_MODEL": ".env", "STREAMDEMO_PROVIDER": "", "OPENAI_API_KEY": ""} {
		if got := env.File(name); got != want {
			t.Errorf("File(%s) = %q, want %q", name, got, want)
		}
	}
}

func TestLoadEnvWithoutAFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644)
	t.Chdir(dir)
	env, err := streamdemo.LoadEnv()
	if err != nil || len(env.Files) != 0 || !strings.HasPrefix(env.String(), "no .env file found") {
		t.Fatalf("got %v, %v", env, err)
	}
}
