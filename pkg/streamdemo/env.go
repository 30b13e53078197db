package streamdemo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/joho/godotenv"
)

// Env tells what LoadEnv found: the .env files it read and the names of the
// variables they define. It never holds a value.
type Env struct {
	Files []string // paths relative to the working directory, nearest first
	Keys  []string // variable names defined in those files, sorted
	set   map[string]string
}

// String says which files were loaded and which key names were found, e.g.
// "loaded ../.env (PERPLEXITY_API_KEY)". It never shows a value.
func (e Env) String() string {
	if len(e.Files) == 0 {
		return "no .env file found in this folder or its parents up to the repository root"
	}
	keys := "no variables"
	if len(e.Keys) > 0 {
		keys = strings.Join(e.Keys, ", ")
	}
	return fmt.Sprintf("loaded %s (%s)", strings.Join(e.Files, ", "), keys)
}

// Has reports whether a loaded .env file defines name.
func (e Env) Has(name string) bool { return slices.Contains(e.Keys, name) }

// File returns the .env file whose value of name LoadEnv set, or "" if it
// set none: the environment had one already, or no file defines name. It
// tells a key that comes from the shell from one that comes from .env.
func (e Env) File(name string) string { return e.set[name] }

// LoadEnv reads .env files from the working directory and each parent up to
// the repository root (the first folder holding .git or go.mod), nearest first.
// Variables already set (to a non-empty value) are never overridden, so a
// value set by the shell, or by a nearer .env file, wins.
func LoadEnv() (Env, error) {
	wd, err := os.Getwd()
	if err != nil {
		return Env{}, err
	}
	env := Env{set: map[string]string{}}
	for dir := wd; ; dir = filepath.Dir(dir) {
		path := filepath.Join(dir, ".env")
		rel, err := filepath.Rel(wd, path)
		if err != nil {
			rel = path
		}
		vars, err := godotenv.Read(path)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return env, &Error{Kind: ErrConfig, Message: "could not read " + rel + ": write one NAME=value per line"}
		default:
			env.Files = append(env.Files, rel)
			for k, v := range vars {
				if os.Getenv(k) == "" { // set (and non-empty) variables win
					os.Setenv(k, v)
					env.set[k] = rel
				}
				if !slices.Contains(env.Keys, k) {
					env.Keys = append(env.Keys, k)
				}
			}
		}
		if isRepoRoot(dir) || filepath.Dir(dir) == dir {
			break
		}
	}
	slices.Sort(env.Keys)
	return env, nil
}

func isRepoRoot(dir string) bool {
	for _, marker := range []string{".git", "go.mod"} {
		if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
			return true
		}
	}
	return false
}
