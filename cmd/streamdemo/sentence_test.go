package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestGatewayCommandsSayOneSentence: what the gateway refuses reaches the
// teacher as one sentence that says what to do, on one line.
func TestGatewayCommandsSayOneSentence(t *testing.T) {
	data := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("sk-upstream\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pause", "zed", "--data", data},
			`No student called "zed": see the names with "streamdemo gateway usage", or add one with "streamdemo gateway token add zed".`},
		{[]string{"limits", "zed", "--rpm", "5", "--data", data},
			`No student called "zed": see the names with "streamdemo gateway usage", or add one with "streamdemo gateway token add zed".`},
		{[]string{"token", "revoke", "zed", "--data", data}, `No token to revoke for "zed": see the names with "streamdemo gateway usage".`},
		{[]string{"token", "add", "a/b", "--data", data}, `Bad name "a/b": use 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit).`},
		{[]string{"price", "sonar", "--input", "-1", "--data", data}, "A price cannot be negative."},
		{[]string{"usage"}, "No data folder and no database for the ledger: pass --data DIR (where the gateway keeps its ledger) or --database postgres://...."},
		{[]string{"serve", "--upstream", "ftp://x", "--data", data}, `The upstream "ftp://x" is not an http(s) URL: pass --upstream http://host:port/v1.`},
		{[]string{"serve", "--upstream", "http://127.0.0.1:9/v1", "--key-file", keyFile, "--data", data},
			`can be read by other users (mode 0644): run "chmod 600 ` + keyFile + `" and start the gateway again.`},
	} {
		t.Setenv("STREAMDEMO_GATEWAY_DATA", "")
		_, errOut, code := run(t, append([]string{"gateway"}, c.args...)...)
		if code != 1 || !strings.HasSuffix(errOut, c.want+"\n") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("gateway %s: exit %d %q, want 1 and %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
	t.Setenv("JUPYTERHUB_SERVICE_URL", "::")
	_, errOut, _ := run(t, "gateway", "serve", "--upstream", "http://127.0.0.1:9/v1", "--data", data)
	if want := `JUPYTERHUB_SERVICE_URL "::" is not a URL with host:port or a socket's path: the hub sets it for its services: start the gateway from the hub, or unset it.`; errOut != want+"\n" {
		t.Errorf("a hub service URL without host:port: %q, want %q", errOut, want)
	}
	t.Setenv("JUPYTERHUB_SERVICE_URL", "")
	// A flag the flag package refused: its own lines, and no empty one after.
	_, errOut, code := run(t, "gateway", "usage", "--no-such-flag")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined") || strings.HasSuffix(errOut, "\n\n") {
		t.Errorf("a wrong flag: exit %d %q", code, errOut)
	}
}

// TestErrorsAreLowerCaseBelowTheEdge: the commands' errors are lower-case,
// like Go's, and become a sentence only where they are printed.
func TestErrorsAreLowerCaseBelowTheEdge(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				if fn.Sel.Name != "Errorf" && fn.Sel.Name != "New" {
					return true
				}
			case *ast.Ident:
				if fn.Name != "usagef" {
					return true
				}
			default:
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, _ := strconv.Unquote(lit.Value)
			if text != "" && (unicode.IsUpper([]rune(text)[0]) || strings.HasSuffix(text, ".")) {
				t.Errorf("%s: %q: an error starts lower-case and ends without a full stop; the sentence is made where it is printed", fset.Position(lit.Pos()), text)
			}
			return true
		})
	}
}
