#!/usr/bin/env bash
# Runs the local model server: Ollama on loopback serving SmolLM2-135M-Instruct as "smollm2-135m".
#   start   start `ollama serve` in the background, unless something already answers on the port (then
#           reuse it); wait for it; register the model from kernel-setup/Modelfile if needed; load it
#   stop    stop the server that `start` started (build/ollama.pid), nothing else
#   status  say whether the server answers and has the model; exit 0 if so, 1 if nothing answers,
#           2 if it answers without the model
# Data stays in the repository: models in .tools/ollama/models, log in build/ollama.log.
# Port: OLLAMA_PORT (default 11434; another port gets build/ollama-PORT.log and .pid).
# Needs `bash kernel-setup/model.sh` first. Never reads stdin.
# Usage: bash kernel-setup/model-server.sh start|stop|status
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NAME=smollm2-135m                      # streamdemo.LocalModel
PORT=${OLLAMA_PORT:-11434}
SFX=; [[ $PORT == 11434 ]] || SFX=-$PORT
LOG=$REPO/build/ollama$SFX.log
PIDFILE=$REPO/build/ollama$SFX.pid
STAMP=$REPO/.tools/ollama/models/.$NAME.inputs   # hash of what the registered model was made from
SELF="${SFX:+OLLAMA_PORT=$PORT }bash kernel-setup/model-server.sh"
export OLLAMA_HOST=127.0.0.1:$PORT OLLAMA_MODELS=$REPO/.tools/ollama/models OLLAMA_KEEP_ALIVE=-1
# One request at a time (others queue): batching requests together changes temperature-0 answers.
# A class's server (OLLAMA_NUM_PARALLEL=class, make classroom-model) decodes as many at once as the
# machine has slots for (kernel-setup/model-slots.sh); SLOTS records what the running server was given.
export OLLAMA_NUM_PARALLEL=${OLLAMA_NUM_PARALLEL:-1}
[[ $OLLAMA_NUM_PARALLEL != class ]] || OLLAMA_NUM_PARALLEL=$(bash "$HERE/model-slots.sh")
SLOTS=$REPO/build/ollama$SFX.slots

say() { printf '==> %s\n' "$*"; }
die() { printf 'model-server.sh: %s\n' "$*" >&2; exit 1; }

# The binary kernel-setup/model.sh built, else the one on PATH.
OLLAMA=$REPO/.tools/bin/ollama
[[ -x $OLLAMA ]] || OLLAMA=$(command -v ollama) || OLLAMA=

# api PATH [JSON]: GET PATH (POST JSON to it) on the server and print the reply; fails if nothing answers.
api() {
  python3 - "http://$OLLAMA_HOST$1" "${2-}" <<'PY'
import sys, urllib.request
url, body = sys.argv[1:]
try:
    print(urllib.request.urlopen(urllib.request.Request(url, body.encode() or None), timeout=300).read().decode())
except Exception as e:
    sys.exit(f"{url}: {e}")
PY
}
# Ollama answers compact JSON: {"version":"0.6.5"}, {"models":[{"name":"smollm2-135m:latest",...
version()   { api /api/version 2>/dev/null | sed -n 's/^{"version":"\([^"]*\)"}$/\1/p' | grep .; }
has_model() { api /api/tags | grep -qF "\"name\":\"$NAME:latest\""; }
# ours: the pid file names a running `ollama serve`.
ours() { [[ -f $PIDFILE ]] && [[ $(tr '\0' ' ' </proc/"$(<"$PIDFILE")"/cmdline 2>/dev/null) == *ollama*\ serve* ]]; }

start() {
  local v pid i inputs out t0
  if ours && [[ $(cat "$SLOTS" 2>/dev/null) != "$OLLAMA_NUM_PARALLEL" ]] && version >/dev/null; then
    say "ollama: restarting with $OLLAMA_NUM_PARALLEL parallel slots (it ran with $(cat "$SLOTS" 2>/dev/null || echo 1))"
    stop
  fi
  if v=$(version); then
    if ours; then say "ollama $v: running on $OLLAMA_HOST with $OLLAMA_NUM_PARALLEL parallel slots (pid $(<"$PIDFILE"))"
    else say "ollama $v: something already answers on $OLLAMA_HOST: reusing it"; fi
  else
    [[ -n $OLLAMA ]] || die "no ollama in .tools/bin or on PATH — fix: bash kernel-setup/model.sh"
    if (exec 3<>"/dev/tcp/${OLLAMA_HOST/://}") 2>/dev/null; then
      die "something on $OLLAMA_HOST answers but is not Ollama: stop it or pick another port with OLLAMA_PORT"
    fi
    say "starting ollama serve on $OLLAMA_HOST (log: ${LOG#"$REPO/"})"
    mkdir -p "$REPO/build" "$OLLAMA_MODELS"
    # setsid: own process group (stop signals the runner child too), no terminal; HOME: its key file
    # ($HOME/.ollama/id_ed25519) goes to .tools/ollama, not the user's home.
    HOME=$REPO/.tools/ollama setsid "$OLLAMA" serve </dev/null >>"$LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    echo "$OLLAMA_NUM_PARALLEL" >"$SLOTS"
    for ((i = 0; i < 150; i++)); do
      v=$(version) && break
      kill -0 "$pid" 2>/dev/null || die "ollama serve exited at once; its log ${LOG#"$REPO/"} ends with: $(tail -n 3 "$LOG")"
      sleep 0.2
    done
    [[ -n $v ]] || die "ollama serve did not answer on $OLLAMA_HOST within 30 s: see ${LOG#"$REPO/"}"
    say "ollama $v: started with $OLLAMA_NUM_PARALLEL parallel slots (pid $pid)"
  fi
  # Register the model when it is absent or (on our own models directory) made from other inputs.
  inputs=$(cat "$HERE/Modelfile" "$HERE/model.sha256" | sha256sum | cut -d' ' -f1)
  if has_model && { ! ours || [[ $(cat "$STAMP" 2>/dev/null) == "$inputs" ]]; }; then
    say "model $NAME: registered"
  else
    [[ -n $OLLAMA ]] || die "no ollama client to register $NAME with — fix: bash kernel-setup/model.sh"
    say "registering model $NAME from kernel-setup/Modelfile"
    out=$("$OLLAMA" create "$NAME" -f "$HERE/Modelfile" 2>&1 </dev/null) \
      || die "ollama create failed (weights missing? fix: bash kernel-setup/model.sh): ${out##*[$'\r\n']}"
    ! ours || printf '%s\n' "$inputs" >"$STAMP"
  fi
  # Load it now (it stays loaded: OLLAMA_KEEP_ALIVE=-1), so that the first real request is fast.
  t0=$EPOCHREALTIME
  api /api/chat '{"model":"'$NAME'","stream":false,"messages":[{"role":"user","content":"Hi"}],"options":{"num_predict":1}}' >/dev/null \
    || die "$NAME did not answer a one-token request: see ${LOG#"$REPO/"}"
  say "model $NAME: loaded and answering ($(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms; stop: $SELF stop)"
}

# members: the ollama processes (serve and its runners) in the process group the pid file names;
# `start` made that group (setsid), so this also finds runners left behind by a killed serve.
members() {
  local f st pgid
  pgid=$(cat "$PIDFILE" 2>/dev/null) || return 0
  for f in /proc/[0-9]*; do
    read -r st 2>/dev/null <"$f/stat" || continue
    read -r _ _ st _ <<<"${st##*) }"   # state, ppid, pgrp
    [[ $st == "$pgid" && $(tr '\0' ' ' <"$f/cmdline" 2>/dev/null) == *ollama* ]] && echo "${f#/proc/}"
  done
  return 0
}

# shellcheck disable=SC2086  # $pids is split on purpose: one pid a word
stop() {
  local pids i
  pids=$(members)
  if [[ -z $pids ]]; then
    rm -f "$PIDFILE" "$SLOTS"; say "ollama: no server started by this script is running"; return
  fi
  kill -TERM $pids 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do [[ -n $(members) ]] || break; sleep 0.1; done
  pids=$(members); [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
  say "ollama: stopped (pid $(<"$PIDFILE"))"
  rm -f "$PIDFILE" "$SLOTS"
}

status() {
  local v
  if ! v=$(version); then
    echo "stopped: no Ollama answers on $OLLAMA_HOST"; return 1
  elif ! has_model; then
    echo "running: ollama $v on $OLLAMA_HOST, but without $NAME"; return 2
  fi
  echo "ready: ollama $v on $OLLAMA_HOST serves $NAME$(ours && echo " (pid $(<"$PIDFILE"))")"
}

case ${1-} in
  start | stop | status) "$1" ;;
  *) die "usage: $SELF start|stop|status" ;;
esac
