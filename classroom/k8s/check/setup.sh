#!/usr/bin/env bash
# What classroom/tests/test_k8s.py needs, pinned and idempotent: a venv with the hub of chart 4.4.0
# (hub-requirements.lock) in build/k8s-hub-venv, and this folder's Go modules (k8s.io/api).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
VENV=$REPO/build/k8s-hub-venv
PY=${PYTHON:-python3}
say() { echo "==> k8s checks: $*"; }

stamp="$(sha256sum "$HERE/hub-requirements.lock" | cut -d' ' -f1) $("$PY" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x $VENV/bin/jupyterhub && "$(cat "$VENV/.lock-stamp" 2>/dev/null)" == "$stamp" ]]; then
  say "hub venv: ready"
else
  say "creating $VENV from classroom/k8s/check/hub-requirements.lock (first time: ~40 s)"
  "$PY" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps \
    -r "$HERE/hub-requirements.lock"
  "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null || {
    echo "classroom/k8s/check/hub-requirements.lock is incomplete: $("$VENV/bin/python" -m pip check)" >&2; exit 1; }
  printf '%s\n' "$stamp" >"$VENV/.lock-stamp"
fi
(cd "$HERE" && go mod download)
say "Go modules: ready"
