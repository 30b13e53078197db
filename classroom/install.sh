#!/usr/bin/env bash
# Installs the classroom's shared runtime into $RUNTIME (see lib.sh), every version pinned:
#   (a) the notebook side of the repository (kernel-setup/install.sh: gonb, goimports, gopls)
#   (b) Node for the proxy (Debian's nodejs, root only, when node is missing), and nftables (root only)
#   (c) hub venv          -> $RUNTIME/venv          (classroom/requirements.lock: JupyterHub, JupyterLab,
#                                                    nbgitpuller, jupyterhub-idle-culler)
#   (d) proxy             -> $RUNTIME/proxy         (classroom/proxy/package-lock.json, npm ci)
#   (e) programs          -> $RUNTIME/bin, $RUNTIME/supervisor (gonb, goimports, gopls, streamdemo)
#   (f) GoNB kernelspec   -> $RUNTIME/share/jupyter/kernels/gonb (started through gonb-supervisor)
#   (h) front door        -> $RUNTIME/bin/caddy     (classroom/frontdoor/go.mod: Caddy, for a class beyond loopback)
#   (g) Go caches         -> $RUNTIME/go/mod (shared, read-only module cache),
#                            $RUNTIME/go/build-seed (warmed build cache each student gets a copy of)
# Idempotent: each step records what it installed and is skipped when that is current.
# Students read all of it and write none of it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# current STAMPFILE VALUE: true if STAMPFILE already holds VALUE.
current() { [[ -f $1 && $(<"$1") == "$2" ]]; }

bash "$REPO/kernel-setup/install.sh" | sed 's/^==> /==> notebook side: /'
command -v go >/dev/null || die "go not found on PATH (Go 1.26 is expected)"
GODIR=$(dirname "$(readlink -f "$(command -v go)")")
if [[ $AS_ROOT ]] && ! runuser -u nobody -- test -x "$GODIR/go"; then
  die "students could not run $GODIR/go (a folder on its path is private): install Go where every account can read it, e.g. /usr/local/go"
fi

# (b) Node.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  [[ $AS_ROOT ]] || die "node and npm are needed for the hub's proxy: install Node 20 (Debian: apt-get install nodejs npm)"
  say "installing Debian's nodejs and npm for the hub's proxy"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# (b') nftables: a teacher's own upstream on this machine without a key answers the gateway alone (firewall.py).
if [[ $AS_ROOT ]] && ! command -v nft >/dev/null; then
  say "installing Debian's nftables (the class's firewall rule for an upstream on this machine)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null
fi

# A Python every student can run (pyenv's under /root is private): this one if it is, else Debian's.
PY=$(readlink -f "$(command -v python3)")
if [[ $AS_ROOT ]] && ! runuser -u nobody -- "$PY" -c 'import venv' 2>/dev/null; then
  PY=/usr/bin/python3
  if ! runuser -u nobody -- "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
    say "installing Debian's python3 and python3-venv (the Python on PATH is private to root)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
fi

mkdir -p "$RUNTIME"
chmod 755 "$RUNTIME"

# (c) Hub venv; the stamp holds the lock's hash, the Python version and the venv's path.
VENV=$RUNTIME/venv
stamp="$(sha256sum "$HERE/requirements.lock" | cut -d' ' -f1) $PY $("$PY" -c 'import sys; print(sys.version.split()[0])') $VENV"
if [[ -x $VENV/bin/jupyterhub ]] && current "$VENV/.lock-stamp" "$stamp"; then
  say "hub venv: ready"
else
  say "creating the hub venv in $VENV from classroom/requirements.lock (first time: ~40 s)"
  "$PY" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps -r "$HERE/requirements.lock"
  "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null \
    || die "classroom/requirements.lock is incomplete: $("$VENV/bin/python" -m pip check)"
  printf '%s\n' "$stamp" >"$VENV/.lock-stamp"
fi

# JupyterLab's defaults for every student: no news pop-up, no update check (no request to a website).
mkdir -p "$VENV/share/jupyter/lab/settings"
printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
  >"$VENV/share/jupyter/lab/settings/overrides.json"

# Behind the HTTPS front door the hub asks for Secure cookies (JUPYTERHUB_COOKIE_OPTIONS): the Jupyter
# server's own XSRF cookie too, on the path it would have had.
mkdir -p "$VENV/etc/jupyter"
cat >"$VENV/etc/jupyter/jupyter_server_config.py.tmp" <<'PY'
import json
import os

if json.loads(os.environ.get("JUPYTERHUB_COOKIE_OPTIONS") or "{}").get("secure"):
    c.ServerApp.tornado_settings = {"xsrf_cookie_kwargs": {"path": os.environ["JUPYTERHUB_SERVICE_PREFIX"], "secure": True}}  # noqa: F821
PY
mv -f "$VENV/etc/jupyter/jupyter_server_config.py.tmp" "$VENV/etc/jupyter/jupyter_server_config.py"

# (d) configurable-http-proxy.
PROXY=$RUNTIME/proxy
stamp="$(cat "$HERE/proxy/package.json" "$HERE/proxy/package-lock.json" | sha256sum | cut -d' ' -f1) $(node --version)"
if [[ -x $PROXY/node_modules/.bin/configurable-http-proxy ]] && current "$PROXY/.lock-stamp" "$stamp"; then
  say "configurable-http-proxy: ready"
else
  say "installing configurable-http-proxy from classroom/proxy/package-lock.json (first time: ~10 s)"
  mkdir -p "$PROXY"
  cp "$HERE/proxy/package.json" "$HERE/proxy/package-lock.json" "$PROXY/"
  (cd "$PROXY" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) \
    || die "npm ci failed in $PROXY: run it there to see why"
  printf '%s\n' "$stamp" >"$PROXY/.lock-stamp"
fi

# (e) Programs, copied only when they changed (a running class keeps its open files).
mkdir -p "$RUNTIME/bin" "$RUNTIME/supervisor"
say "building streamdemo (the gateway and practice server)"
(cd "$REPO" && go build -o "$RUNTIME/bin/.streamdemo.tmp" ./cmd/streamdemo)
install_file() { cmp -s "$1" "$2" || install -m "$3" "$1" "$2"; }
install_file "$RUNTIME/bin/.streamdemo.tmp" "$RUNTIME/bin/streamdemo" 755
rm -f "$RUNTIME/bin/.streamdemo.tmp"
for tool in gonb goimports gopls; do install_file "$REPO/.tools/bin/$tool" "$RUNTIME/bin/$tool" 755; done
install_file "$REPO/kernel-setup/supervisor/gonb-supervisor" "$RUNTIME/supervisor/gonb-supervisor" 755
ln -sfn gonb-supervisor "$RUNTIME/supervisor/gopls"

# (h) The HTTPS front door.
bash "$HERE/gotool.sh" "$RUNTIME/bin/caddy" "$HERE/frontdoor" github.com/caddyserver/caddy/v2/cmd/caddy

# (f) Kernelspec: the repository's own, with its paths moved into the runtime.
KSRC=$REPO/.venv/share/jupyter/kernels/gonb
KDST=$RUNTIME/share/jupyter/kernels/gonb
mkdir -p "$KDST"
cp "$KSRC"/logo-* "$KDST/" 2>/dev/null || true
sed -e "s|$REPO/.tools/bin|$RUNTIME/bin|g" -e "s|$REPO/kernel-setup/supervisor|$RUNTIME/supervisor|g" \
  "$KSRC/kernel.json" >"$KDST/kernel.json.tmp"
grep -q "$REPO" "$KDST/kernel.json.tmp" && die "the kernelspec still points into the repository: $KDST/kernel.json.tmp"
# The kernelspec's env replaces the spawner's GOFLAGS: keep the cell build flags and add -mod=mod
# (students build offline; the cells' checksums come from the lesson module's go.sum, GoNB patch 0005).
"$VENV/bin/python" - "$KDST/kernel.json.tmp" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
flags = spec.setdefault("env", {}).get("GOFLAGS", "")
if "-mod=mod" not in flags:
    spec["env"]["GOFLAGS"] = ("-mod=mod " + flags).strip()
json.dump(spec, open(sys.argv[1], "w"), indent=1)
PY
mv -f "$KDST/kernel.json.tmp" "$KDST/kernel.json"
say "kernel gonb (in $RUNTIME/share/jupyter): ready"

# (g) Go caches. The module cache is filled from this machine's own cache first, then the proxy.
GOCACHES=$RUNTIME/go
stamp="$(cat "$REPO/go.sum" "$REPO/kernel-setup/tools/go.sum" "$KDST/kernel.json" | sha256sum | cut -d' ' -f1) $(go version) $(sha256sum "$RUNTIME/bin/gonb" | cut -d' ' -f1)"
if current "$GOCACHES/.stamp" "$stamp"; then
  say "Go module cache and warmed build cache: ready"
else
  say "filling the shared Go module cache and warming a build cache (first time: ~40 s)"
  mkdir -p "$GOCACHES"
  rm -rf "$GOCACHES/build-seed"
  export GOMODCACHE=$GOCACHES/mod GOFLAGS=-mod=mod GOTOOLCHAIN=local
  export GOPROXY="file://$(GOMODCACHE= go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
  # -modfile: a copy of go.mod/go.sum, so the repository's own files are never touched.
  tmp=$(mktemp -d)
  cp "$REPO/go.mod" "$REPO/go.sum" "$tmp/"
  (cd "$REPO" && go mod download -modfile="$tmp/go.mod" all)
  rm -rf "$tmp"
  # Warm by running the lesson's first cells in a GoNB kernel, as a student's first start will.
  WARM_LOG=$RUNTIME/go/warm.log GOCACHE=$GOCACHES/build-seed GOPROXY=off GOSUMDB=off JUPYTER_PATH=$RUNTIME/share/jupyter \
    "$VENV/bin/python" "$HERE/warm.py" "$REPO/notebooks/01-streaming-chat-completion.ipynb"
  printf '%s\n' "$stamp" >"$GOCACHES/.stamp"
fi

chmod -R a+rX "$RUNTIME"
say "classroom runtime ready in $RUNTIME"
