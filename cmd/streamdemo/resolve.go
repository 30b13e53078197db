package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
)

var resolveCommand = command{
	name: "resolve",
	does: "Says which provider, protocol, model and base URL the library would ask, why, and where the key comes from (never the key); asks a compatible server what it speaks.",
	setup: func(fs *flag.FlagSet) func([]string) error {
		var cfg streamdemo.Config
		whereFlags(fs, &cfg, "perplexity, openai, compatible, ollama or practice")
		fs.StringVar(&cfg.Protocol, "protocol", "", "protocol `NAME`: chat, responses or agent (default: the provider's; a compatible server is asked)")
		keyFile := fs.String("key-file", "", "read the key from `FILE` (- for stdin) as Config.APIKey: without --provider it counts as Perplexity's")
		asJSON := fs.Bool("json", false, "print one JSON object (see the README) instead of a line")
		return func(args []string) error {
			if err := wantNames(args, 0, "no arguments, only flags"); err != nil {
				return err
			}
			r, err := resolve(cfg, *keyFile, os.Stdin)
			if *asJSON {
				printJSON(r, err)
			} else if err == nil {
				fmt.Println(r)
			}
			return err
		}
	},
}

// resolution is what resolve prints: the library's settings and where the
// key comes from. Its JSON shape is documented in the README; keep it.
type resolution struct {
	Provider string    `json:"provider"`
	Protocol string    `json:"protocol"`
	Model    string    `json:"model"`
	BaseURL  string    `json:"base_url"`
	Key      keyOrigin `json:"key"`
	Why      string    `json:"why"`
	// ChatViaAgent says chat completions reach this upstream only through
	// its Agent API: Perplexity, which retired them, or a compatible server
	// that speaks the Agent API and refuses POST {base}/chat/completions.
	ChatViaAgent bool `json:"chat_via_agent"`
}

// keyOrigin says where the key comes from, never what it is.
type keyOrigin struct {
	Source   string `json:"source"`   // none, environment, dotenv, file or stdin
	Variable string `json:"variable"` // the variable the provider reads its key from
	File     string `json:"file"`     // the .env file (dotenv) or the key file (file)
	Required bool   `json:"required"` // the provider's own service needs one
}

// String is the line for people, e.g. "provider perplexity, protocol
// responses, model sonar-pro, base URL https://api.perplexity.ai/v1; key
// from PERPLEXITY_API_KEY in .env; because PERPLEXITY_API_KEY is the only key set".
func (r resolution) String() string {
	model := r.Model
	if model == "" {
		model = "none named"
	}
	key := "no key"
	switch r.Key.Source {
	case "environment":
		key = "key from " + r.Key.Variable + " in the environment"
	case "dotenv":
		key = "key from " + r.Key.Variable + " in " + r.Key.File
	case "file":
		key = "key from the file " + r.Key.File
	case "stdin":
		key = "key from stdin"
	}
	return fmt.Sprintf("provider %s, protocol %s, model %s, base URL %s; %s; because %s", r.Provider, r.Protocol, model, r.BaseURL, key, r.Why)
}

// resolve decides, as the library does, where cfg would ask: it loads .env,
// reads the key from keyFile (stdin for "-") and, for a compatible server,
// asks the server.
func resolve(cfg streamdemo.Config, keyFile string, stdin io.Reader) (resolution, error) {
	var r resolution
	if keyFile != "" {
		key, err := readKey(keyFile, stdin)
		if err != nil {
			return r, err
		}
		cfg.APIKey = key
	}
	env, err := streamdemo.LoadEnv()
	if err != nil {
		return r, err
	}
	ctx, stop := untilInterrupted()
	defer stop()
	client, err := streamdemo.Discover(ctx, cfg)
	if err != nil {
		return r, err
	}
	s := client.Settings()
	r = resolution{Provider: s.Provider, Protocol: s.Protocol, Model: s.Model, BaseURL: s.BaseURL, Why: s.Why,
		Key: keyOrigin{Source: "none", Variable: s.KeyVar, Required: s.KeyRequired}}
	switch {
	case s.Provider == streamdemo.Perplexity:
		r.ChatViaAgent = true
	case s.Provider == streamdemo.Compatible && s.Protocol != streamdemo.ProtocolChat:
		key := cfg.APIKey
		if key == "" {
			key = os.Getenv(s.KeyVar)
		}
		r.ChatViaAgent = !chatAnswers(ctx, s.BaseURL, key)
	}
	switch {
	case s.KeyFrom == "Config.APIKey" && keyFile == "-":
		r.Key.Source = "stdin"
	case s.KeyFrom == "Config.APIKey":
		r.Key.Source, r.Key.File = "file", keyFile
	case s.KeyFrom != "" && env.File(s.KeyFrom) != "":
		r.Key.Source, r.Key.File = "dotenv", env.File(s.KeyFrom)
	case s.KeyFrom != "":
		r.Key.Source = "environment"
	}
	return r, nil
}

// keyLike is the start of a line of a .env file, NAME=: a key file holds
// the key alone.
var keyLike = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// readKey reads the key alone from path, or from stdin for "-".
func readKey(path string, stdin io.Reader) (string, error) {
	name := "the key file " + path
	var b []byte
	var err error
	if path == "-" {
		name = "stdin"
		b, err = io.ReadAll(io.LimitReader(stdin, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the path is said once, below
	}
	key := strings.TrimSpace(string(b))
	switch {
	case err != nil:
		return "", fmt.Errorf("%s cannot be read (%v): give a file this account can read, holding the key alone", name, err)
	case key == "":
		return "", fmt.Errorf("%s holds no key: put the key in it, or leave out --key-file for a server without one", name)
	case strings.ContainsAny(key, "\n\r") || keyLike.MatchString(key):
		return "", fmt.Errorf("%s holds more than a key: put the key alone in it (a .env file in this folder is read without --key-file)", name)
	}
	return key, nil
}

// printJSON prints r as JSON, or err as {"error": its sentence, "kind": its Kind}.
func printJSON(r resolution, err error) {
	enc := json.NewEncoder(os.Stdout)
	if err == nil {
		enc.Encode(r)
		return
	}
	kind := ""
	var e *streamdemo.Error
	if errors.As(err, &e) {
		kind = string(e.Kind)
	}
	enc.Encode(map[string]string{"error": sentence(err), "kind": kind})
}
