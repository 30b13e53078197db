#!/usr/bin/env bash
# Reports each piece of the notebook setup as ready or missing; exits 1 if anything is missing.
# Usage: bash kernel-setup/doctor.sh
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
FIX="bash kernel-setup/install.sh"
status=0

ready()   { printf 'ready   %s (%s)\n' "$1" "$2"; }
missing() { printf 'missing %s: %s — fix: %s\n' "$1" "$2" "$3"; status=1; }

if command -v go >/dev/null; then
  ready go "$(go env GOVERSION), $(command -v go)"
else
  missing go "no go on PATH" "install Go 1.26 and add its bin directory to PATH"
fi

# tool NAME GOMOD MODULE: .tools/bin/NAME must record MODULE at the version GOMOD pins.
tool() {
  local want have
  want=$(awk -v m="$3" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$HERE/$2")
  have=$(go version -m "$BIN/$1" 2>/dev/null | awk -v m="$3" '$1 == "mod" && $2 == m { print $3 }')
  if [[ -n $have && $have == "$want" ]]; then ready "$1" "$3@$have"
  else missing "$1" "want $3@$want in .tools/bin, have ${have:-nothing}" "$FIX"; fi
}
tool gonb      tools/go.mod github.com/janpfeifer/gonb
if bash "$HERE/gonb-build.sh" --check "$BIN/gonb"; then ready "gonb patches" "all of kernel-setup/gonb-patches"
else missing "gonb patches" ".tools/bin/gonb is not built with every patch of kernel-setup/gonb-patches (the kernelspec's -enclosing_module needs them)" "$FIX"; fi
tool goimports tools/go.mod golang.org/x/tools
tool gopls     gopls/go.mod golang.org/x/tools/gopls

if [[ -x $VENV/bin/python ]]; then
  ready venv "$("$VENV/bin/python" -V 2>&1), $VENV"
  # pkg NAME: installed version must equal the pin in requirements.lock.
  pkg() {
    local want have
    want=$(awk -F'==' -v p="$1" 'tolower($1) == p { print $2 }' "$HERE/requirements.lock")
    have=$("$VENV/bin/python" -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' "$1" 2>/dev/null)
    if [[ -n $have && $have == "$want" ]]; then ready "$1" "$have"
    else missing "$1" "want $want in .venv, have ${have:-nothing}" "$FIX"; fi
  }
  pkg jupyterlab
  pkg nbclient
  pkg rich
  if kernel=$("$VENV/bin/python" - "$VENV" <<'PY' 2>&1
import os, sys
from jupyter_client.kernelspec import KernelSpecManager
spec = KernelSpecManager().get_kernel_spec("gonb")
assert spec.resource_dir.startswith(sys.argv[1] + "/"), f"gonb found outside the venv: {spec.resource_dir}"
assert os.access(spec.argv[0], os.X_OK), f"kernel binary {spec.argv[0]} is not executable"
print(f"{spec.display_name}, {spec.resource_dir}")
PY
  ); then ready "kernel gonb" "$kernel"
  else missing "kernel gonb" "not registered in .venv (${kernel##*$'\n'})" "$FIX"; fi
else
  missing venv "no $VENV/bin/python" "$FIX"
  missing jupyterlab "no venv" "$FIX"
  missing nbclient "no venv" "$FIX"
  missing rich "no venv" "$FIX"
  missing "kernel gonb" "no venv" "$FIX"
fi

# Local model (kernel-setup/model.sh installs it; kernel-setup/model-server.sh runs it). A stopped
# server is reported but is not a failure: tests start it themselves.
MFIX="bash kernel-setup/model.sh"
if [[ -x $BIN/ollama ]]; then tool ollama ollama/go.mod github.com/ollama/ollama
elif command -v ollama >/dev/null; then   # -v against a closed port prints the client's own version
  ready ollama "$(OLLAMA_HOST=127.0.0.1:9 ollama -v 2>&1 | sed -n 's/.*client version is //p'), $(command -v ollama), from PATH"
else missing ollama "not in .tools/bin nor on PATH" "$MFIX"; fi
gguf="$REPO/.tools/models/$(awk '{ print $2 }' "$HERE/model.sha256")"
if [[ -f $gguf && $(sha256sum "$gguf" | cut -d' ' -f1) == "$(cut -d' ' -f1 "$HERE/model.sha256")" ]]; then
  ready "model weights" "${gguf#"$REPO/"}, sha256 ok"
else missing "model weights" "${gguf#"$REPO/"} absent or not as kernel-setup/model.sha256 says" "$MFIX"; fi
if [[ -f $REPO/.tools/ollama/models/manifests/registry.ollama.ai/library/smollm2-135m/latest ]]; then
  ready "model smollm2-135m" "registered in .tools/ollama/models"
else missing "model smollm2-135m" "not registered in .tools/ollama/models" "$MFIX"; fi
server=$(bash "$HERE/model-server.sh" status); rc=$?
case $rc in
  0) ready "model server" "${server#ready: }" ;;
  1) printf 'stopped model server: %s — start: bash kernel-setup/model-server.sh start\n' "${server#stopped: }" ;;
  *) missing "model server" "${server#running: }" "bash kernel-setup/model-server.sh start" ;;
esac

exit $status
