#!/usr/bin/env bash
# Installs the notebook side of the project, every version pinned:
#   (a) gonb, goimports, gopls  -> .tools/bin   (pinned by kernel-setup/tools/go.mod, kernel-setup/gopls/go.mod;
#       gonb with the patch series kernel-setup/gonb-patches/, built by kernel-setup/gonb-build.sh)
#   (b) Jupyter virtualenv      -> .venv        (pinned by kernel-setup/requirements.lock)
#   (c) GoNB kernelspec "gonb"  -> .venv/share/jupyter/kernels/gonb  (the venv only; ~/.local is untouched)
# Idempotent: a step that is already done is skipped in milliseconds. Needs go and python3 on PATH.
# Usage: bash kernel-setup/install.sh        (no arguments, no stdin)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
LOCK="$HERE/requirements.lock"
KDIR="$VENV/share/jupyter/kernels/gonb"

# shellcheck source=kernel-setup/progress.sh
source "$HERE/progress.sh"
RETRY="bash kernel-setup/install.sh"
say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "go not found on PATH (Go 1.26 is expected)"
command -v python3 >/dev/null || die "python3 not found on PATH (Python 3.11 is expected)"
GODIR=$(dirname "$(command -v go)")

# modver GOMOD MODULE: the version GOMOD pins for MODULE.
modver() { awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1"; }

# build NAME MODDIR MODULE PACKAGE HINT: build PACKAGE inside MODDIR into .tools/bin/NAME,
# unless that binary already records MODULE at the pinned version (go version -m).
build() {
  local name=$1 dir=$2 mod=$3 pkg=$4 hint=$5 ver have
  ver=$(modver "$dir/go.mod" "$mod")
  [[ -n $ver ]] || die "$mod is not pinned in $dir/go.mod"
  have=$(go version -m "$BIN/$name" 2>/dev/null | awk '$1 == "mod" { print $2 "@" $3 }' || true)
  if [[ $have == "$mod@$ver" ]]; then say "$name $ver: ready"; return; fi
  mkdir -p "$BIN"
  # GOWORK=off: a go.work at the repo root must not capture these tool modules.
  # -mod=readonly: build exactly what go.mod/go.sum pin, never edit them.
  step "building $name $ver" "$hint the first time" \
    env -C "$dir" GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -o "$BIN/$name.tmp" "$pkg"
  mv -f "$BIN/$name.tmp" "$BIN/$name"
}

# (a) Go tools.
bash "$HERE/gonb-build.sh" "$BIN/gonb"
build goimports "$HERE/tools" golang.org/x/tools        golang.org/x/tools/cmd/goimports "~5 s"
build gopls     "$HERE/gopls" golang.org/x/tools/gopls  golang.org/x/tools/gopls "~45 s"

# (b) Jupyter venv. The stamp holds the lock's hash, the Python version and the venv's path (venvs
# hold absolute paths); any change recreates the venv from scratch, so it always holds exactly the lock.
stamp="$(sha256sum "$LOCK" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])') $VENV"
if [[ -x $VENV/bin/python && -f $VENV/.lock-stamp && $(<"$VENV/.lock-stamp") == "$stamp" ]]; then
  say "venv (.venv): ready"
else
  make_venv() {
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --no-deps -r "$LOCK"
  }
  step "creating .venv from requirements.lock" "~30 s" make_venv
  "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
    || die "requirements.lock is incomplete or inconsistent: $("$VENV/bin/python" -m pip check)"
  printf '%s\n' "$stamp" >"$VENV/.lock-stamp"
fi

# (c) GoNB kernel, registered in the venv only. `gonb --install` writes argv[0] = its own path
# (or copies itself into KDIR when run from /tmp or ~/.cache) and an empty "env"; we start it as
# supervisor/gonb-supervisor .tools/bin/gonb ... (so a killed kernel leaves no gopls behind) and put
# .tools/bin (goimports, gopls) and go's directory on the kernel's PATH.
# kernel_json check|fix: check exits 0 if kernel.json is already as wanted; fix rewrites it.
kernel_json() {
  "$VENV/bin/python" - "$1" "$KDIR/kernel.json" "$HERE/supervisor/gonb-supervisor" "$BIN/gonb" \
    "$BIN:$GODIR:\${PATH}" <<'PY'
import json, sys
mode, path, supervisor, gonb, kpath = sys.argv[1:]
try:
    spec = json.load(open(path))
except (OSError, ValueError):
    sys.exit(1)
# How each cell is built (docs/benchmarks.md measures it): no cgo, so the linker stays internal and
# links no C runtime; no symbol table or DWARF (-s -w), which the linker otherwise writes for every
# cell. Panics and compile errors still name the cell's line (pclntab is kept). A cell that needs
# cgo runs `%env CGO_ENABLED 1`; a debugger needs `%goflags -ldflags=`. Never -trimpath: GoNB maps
# errors to cell lines through main.go's full path.
flags = spec["argv"][spec["argv"].index("--kernel"):]
# A notebook inside this repository imports its packages with no set-up cell: the kernel's module
# takes the module enclosing the notebook's folder from there (patch 0005 of kernel-setup/gonb-patches).
flags = [f for f in flags if not f.startswith("-enclosing_module")] + ["-enclosing_module=true"]
want = dict(spec, argv=[supervisor, gonb] + flags, display_name="Go (gonb)",
            env=dict(spec.get("env") or {}, PATH=kpath, CGO_ENABLED="0", GOFLAGS="'-ldflags=-s -w'"))
if mode == "check":
    sys.exit(0 if spec == want else 1)
with open(path, "w") as f:
    json.dump(want, f, indent=1)
    f.write("\n")
PY
}
if kernel_json check; then
  say "kernel gonb (in .venv): ready"
else
  say "registering the GoNB kernel in .venv"
  out=$(JUPYTER_DATA_DIR="$VENV/share/jupyter" PATH="$BIN:$GODIR:$PATH" "$BIN/gonb" --install 2>&1) \
    || die "gonb --install failed: $out"
  rm -f "$KDIR/gonb" "$KDIR/gonb~"   # a self-copy would go stale; argv[0] points at .tools/bin/gonb
  kernel_json fix
  kernel_json check || die "could not patch $KDIR/kernel.json"
fi

bash "$HERE/prewarm.sh"

say "done: check with 'bash kernel-setup/doctor.sh'"
