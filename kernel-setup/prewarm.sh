#!/usr/bin/env bash
# Fills the Go build cache with what a lesson cell links (pkg/streamdemo, gonbui, the standard
# library), compiled exactly as the GoNB kernel compiles it: the environment comes from the
# installed kernel.json (GOFLAGS, CGO_ENABLED, ...), the module is made the way the kernel makes
# its own (-enclosing_module). Without it the first cell after a change of those settings
# recompiles the standard library (tens of seconds) while the student waits.
# Idempotent: skipped in milliseconds while the stamp (Go version, kernel environment, go.mod,
# go.sum, the package's sources) is unchanged.
# Usage: bash kernel-setup/prewarm.sh        (called by install.sh once the kernel is registered)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
KJSON="$REPO/.venv/share/jupyter/kernels/gonb/kernel.json"
STAMP="$REPO/.tools/prewarm.stamp"
MODULE=github.com/streamdemo/streamdemo

# shellcheck source=kernel-setup/progress.sh
source "$HERE/progress.sh"
RETRY="bash kernel-setup/prewarm.sh"
say() { printf '==> %s\n' "$*"; }
die() { printf 'prewarm.sh: %s\n' "$*" >&2; exit 1; }

[[ -f $KJSON ]] || die "$KJSON is missing: run kernel-setup/install.sh first"

# The kernel's environment as `export NAME=value` lines, ${VAR} expanded as Jupyter does.
kernel_env=$("$REPO/.venv/bin/python" - "$KJSON" <<'PY'
import json, os, shlex, string, sys
env = json.load(open(sys.argv[1])).get("env") or {}
for k, v in sorted(env.items()):
    print(f"export {k}={shlex.quote(string.Template(v).safe_substitute(os.environ))}")
PY
)

stamp=$( { go version; printf '%s\n' "$kernel_env"; go env GOCACHE
           cat "$REPO/go.mod" "$REPO/go.sum" "$REPO"/pkg/streamdemo/*.go; } | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP && $(<"$STAMP") == "$stamp" ]]; then
  say "Go build cache for lesson cells: ready"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
warm() (
  eval "$kernel_env"
  cd "$work"
  # As GoNB's kernel start does (go mod init, then -enclosing_module's require and replace).
  go mod init gonb_prewarm >/dev/null 2>&1
  go mod edit -require=$MODULE@v0.0.0 -replace=$MODULE="$REPO"
  # What the lesson's cells import, and a call of what they call, so every package is compiled.
  cat >main.go <<'GO'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/streamdemo/streamdemo/pkg/streamdemo"
	"github.com/streamdemo/streamdemo/pkg/streamdemo/notebook"
)

func main() {
	flag.Parse()
	client, err := streamdemo.NewClient(streamdemo.Config{APIKey: os.Getenv("PERPLEXITY_API_KEY")})
	if err != nil {
		fmt.Println(streamdemo.Hint(err))
		return
	}
	stream := client.ChatStream(context.Background(), []streamdemo.Message{{Role: "user", Content: "?"}})
	notebook.Show(stream)
	fmt.Println(time.Second)
}
GO
  go get   # as GoNB's %autoget: fills go.mod and go.sum
  go build -o prewarm .
)
step "warming the Go build cache for lesson cells" "~1 min the first time" warm
printf '%s\n' "$stamp" >"$STAMP"
