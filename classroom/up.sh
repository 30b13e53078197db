#!/usr/bin/env bash
# make classroom: installs what is missing, creates the roster's accounts and passwords, publishes
# the lesson, starts the hub (with its proxy, the gateway as service "llm" and the idle culler) and
# returns once the class answers. Run again after editing the roster: new students are added, dropped
# ones lose their login, tokens and the gateway, and the running class keeps going. Variables: see
# lib.sh and the README's classroom section.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! $AS_ROOT ]]; then
  printf '\n!!! TRY-OUT MODE (not root): every student runs as %s, so students can read each other'"'"'s files and the upstream key. Run as root for a real class. !!!\n\n' "$(id -un)" >&2
fi
# A start that fails stops what it started (the hub, its proxy, the practice server); a class that was
# already running keeps running.
STARTED=
stop_if_failed() {
  local rc=$? f
  ((rc)) || return 0
  if [[ $STARTED ]]; then
    for f in "$FRONTDOOR_PID" "$HUB_PID" "$CLASSROOM_DIR/proxy.pid" "$PRACTICE_PID"; do
      running "$f" && stop_pid "$(<"$f")" "$(basename "$f" .pid)" >/dev/null
      rm -f "$f"
    done
  fi
  if [[ $AS_ROOT ]] && ! running "$HUB_PID"; then python3 "$HERE/firewall.py" remove "$CLASSROOM_PORT"; fi
  return 0
}
trap stop_if_failed EXIT
python3 "$HERE/jupyternaut.py" check "${JUPYTER_AI:-}"
(cd "$REPO" && python3 -m classroom install)
frontdoor_check
checkout_closed
mapfile -t STUDENTS < <(roster_names)
((${#STUDENTS[@]})) || die "the roster $ROSTER names no student"
for s in "${STUDENTS[@]}"; do [[ $s != "$TEACHER" ]] || die "the roster names the teacher's login '$TEACHER' as a student: rename one (TEACHER=...)"; done

# Owner-only state and the teacher's credentials.
mkdir -p "$CLASSROOM_DIR"
chmod 700 "$CLASSROOM_DIR"
secret() { python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "$1"; }
(
  umask 077
  for token in teacher-api-token proxy-auth-token roster-api-token; do
    [[ -s $CLASSROOM_DIR/$token ]] || secret 32 >"$CLASSROOM_DIR/$token"
  done
  # The teacher's token as a header line, for curl -H @FILE: the token never goes on a command line.
  printf 'Authorization: token %s\n' "$(<"$CLASSROOM_DIR/teacher-api-token")" >"$CLASSROOM_DIR/teacher-api-header"
)
chmod 600 "$CLASSROOM_DIR"/{teacher-api-token,teacher-api-header,proxy-auth-token,roster-api-token}
# The roster is the truth: passwords for exactly its people; the accounts it dropped lose the rest below.
dropped=$(python3 "$HERE/roster.py" sync "$CLASSROOM_DIR" "$TEACHER" "${STUDENTS[@]}")
DROPPED=()
[[ -z $dropped ]] || mapfile -t DROPPED <<<"$dropped"
keep_hub_database

# Accounts: one per student and the teacher, one for the gateway.
if [[ $AS_ROOT ]]; then
  getent group "$STUDENT_GROUP" >/dev/null || groupadd "$STUDENT_GROUP"
  added=0
  for name in "$TEACHER" "${STUDENTS[@]}"; do
    if id "$name" >/dev/null 2>&1; then
      id -nG "$name" | tr ' ' '\n' | grep -qx "$STUDENT_GROUP" \
        || die "an account named '$name' already exists on this machine and is not a student's: rename the student in the roster"
      continue
    fi
    useradd --create-home --shell /bin/bash --user-group --groups "$STUDENT_GROUP" "$name"  # no password: no Unix login
    chmod 700 "$(getent passwd "$name" | cut -d: -f6)"
    added=$((added + 1))
  done
  say "accounts: ${#STUDENTS[@]} students and $TEACHER ($added new), each its own Unix account"
  id "$GATEWAY_USER" >/dev/null 2>&1 \
    || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$GATEWAY_USER"
fi
mkdir -p "$CLASS_VAR" "$GATEWAY_DIR"
chmod 755 "$CLASS_VAR"
chmod 700 "$GATEWAY_DIR"
[[ $AS_ROOT ]] && chown "$GATEWAY_USER:" "$GATEWAY_DIR"
# The students' git reads this system config (root's): lessons.git, root's, is safe to pull from.
printf '[safe]\n\tdirectory = %s\n[include]\n\tpath = /etc/gitconfig\n' "$LESSONS" >"$CLASS_VAR/gitconfig.tmp"
chmod 644 "$CLASS_VAR/gitconfig.tmp"
mv -f "$CLASS_VAR/gitconfig.tmp" "$CLASS_VAR/gitconfig"

# write_key VALUE: the upstream key, readable by the gateway's account alone and written by it (the
# key on stdin, never on a command line; printf is a builtin).
write_key() {
  printf '%s\n' "$1" | as_gateway sh -c 't=$(mktemp "$1.XXXXXX") && cat >"$t" && mv -f "$t" "$1"' sh "$GATEWAY_DIR/upstream-key"
}
# key_from FILE: the key in FILE (a PERPLEXITY_API_KEY= line of a .env, or the file's only content); FILE
# must be its owner's alone, as the gateway's own key file must.
key_from() {
  [[ -r $1 && -s $1 ]] || return 0  # no file, or an empty one (/dev/null): no key
  local mode
  mode=$(stat -L -c %a "$1")
  [[ $mode == [46]00 ]] || die "the key file $1 can be read by other accounts (mode $mode), so students could read the class's key: chmod 600 $1, then make classroom again"
  if grep -q '^PERPLEXITY_API_KEY=' "$1"; then
    sed -n 's/^PERPLEXITY_API_KEY=//p' "$1" | head -1 | tr -d "\"' \r"
  else
    tr -d ' \r\n' <"$1"
  fi
}

# Upstream: Perplexity with a key, else the class's local model if it answers, else the class's practice
# server. The class's own two listen on sockets only the gateway's account (and root) may open
# (UPSTREAM_SOCKET): a loopback port would answer every student, and any of them could take it first.
if [[ -n ${UPSTREAM_KEY_FILE:-} && ! -r $UPSTREAM_KEY_FILE ]]; then
  die "the upstream key file $UPSTREAM_KEY_FILE cannot be read: fix UPSTREAM_KEY_FILE, or leave it unset for an upstream without a key"
fi
KEY=$(key_from "${UPSTREAM_KEY_FILE:-$REPO/.env}")
UPSTREAM=${UPSTREAM_URL:-}
UPSTREAM_SOCKET=
if [[ -z $UPSTREAM && -z $KEY ]]; then
  if class_model; then UPSTREAM=local
  elif [[ ! $AS_ROOT ]] && curl -fsS -m 2 -o /dev/null "$LOCAL_MODEL_URL/models" 2>/dev/null; then UPSTREAM=$LOCAL_MODEL_URL
  else UPSTREAM=practice
  fi
fi
if [[ $AS_ROOT ]] && local_model "$UPSTREAM"; then
  die "UPSTREAM_URL names make model-start's local model, which every account of this machine can call on $LOCAL_MODEL_URL: run make classroom-model (the class's own, behind a socket), then make classroom with UPSTREAM_URL=local or unset"
fi
# The students' provider, model and protocol, the gateway's upstream and how it speaks to it: the Go library's
# answer (streamdemo resolve, which asks a teacher's own server, run as the gateway's account with the key on
# its stdin), before anything starts (upstream.py).
eval "$(printf '%s' "$KEY" | python3 "$HERE/upstream.py" "$RUNTIME/bin/streamdemo" "$UPSTREAM" "${STUDENT_PROVIDER:-}" \
  "${STUDENT_MODEL:-}" ${AS_ROOT:+"$GATEWAY_USER"} || echo exit 1)"
say "upstream $UPSTREAM: $PROVIDER, model $MODEL, $(case $PROTOCOL/$AGENT_PATH in responses/) echo "the Agent API" ;; responses/*) echo "the Agent API at /$AGENT_PATH" ;; *) echo "chat completions" ;; esac)"
if [[ $UPSTREAM == practice ]]; then
  UPSTREAM=http://localhost/v1 UPSTREAM_SOCKET=$PRACTICE_SOCKET
  if running "$PRACTICE_PID"; then
    KEY=$(as_gateway cat "$GATEWAY_DIR/upstream-key" 2>/dev/null) \
      || die "the practice server runs but its key ($GATEWAY_DIR/upstream-key) cannot be read: make classroom-down, then make classroom"
  else
    KEY=practice-$(secret 24)
    # Its token is the gateway's key, in its environment only (never argv); as root it runs under the
    # gateway's account, so no student reads it.
    as_gw=(); [[ $AS_ROOT ]] && as_gw=(runuser -u "$GATEWAY_USER" --)
    (
      cd /
      clean_env PATH LANG LC_ALL
      export STREAMDEMO_PRACTICE_TOKEN=$KEY
      setsid "${as_gw[@]}" "$RUNTIME/bin/streamdemo" serve --addr "unix:$PRACTICE_SOCKET" \
        > >(to_log "$CLASSROOM_DIR/practice-server.log") 2>&1 </dev/null &
      echo $! >"$PRACTICE_PID"
    )
    STARTED=1
    # It answers the gateway's account with the key through its socket, or the class does not start.
    for _ in $(seq 100); do
      printf 'Authorization: Bearer %s\n' "$KEY" | as_gateway curl -fsS -m 2 -o /dev/null -H @- --unix-socket "$PRACTICE_SOCKET" \
        http://localhost/v1/models 2>/dev/null && break
      running "$PRACTICE_PID" || break
      sleep 0.1
    done
    printf 'Authorization: Bearer %s\n' "$KEY" | as_gateway curl -fsS -m 2 -o /dev/null -H @- --unix-socket "$PRACTICE_SOCKET" \
      http://localhost/v1/models 2>/dev/null \
      || die "the practice server did not start, so the class is stopped again: see the end of $CLASSROOM_DIR/practice-server.log"
    say "practice server (the class's upstream) started on unix:$PRACTICE_SOCKET"
  fi
elif [[ $UPSTREAM == local ]]; then
  class_model || die "UPSTREAM_URL=local names the class's local model, which does not answer through $MODEL_SOCKET: run make classroom-model first"
  UPSTREAM=http://localhost/v1 UPSTREAM_SOCKET=$MODEL_SOCKET
  say_model_slots
elif local_model "$UPSTREAM"; then
  say_model_slots
fi
# The gateway's allow-list, until the teacher sets one: the class's model.
GATEWAY_MODELS=${GATEWAY_MODELS:-$MODEL}
# Whether the gateway gets a key file is decided here, from what this script knows: root never looks into
# the gateway's folder.
if [[ -n $KEY ]]; then write_key "$KEY"; HAS_KEY=yes; else as_gateway rm -f "$GATEWAY_DIR/upstream-key"; HAS_KEY=; fi
unset KEY
# A teacher's own upstream on this machine without a key would answer any student: a firewall rule of the
# class's lets only the gateway's account (and root) reach its port, until the class stops.
if [[ $AS_ROOT ]]; then
  if [[ -z $HAS_KEY && -z $UPSTREAM_SOCKET && $UPSTREAM != *perplexity* ]]; then
    python3 "$HERE/firewall.py" install "$CLASSROOM_PORT" "$UPSTREAM" "$GATEWAY_USER"
  else
    python3 "$HERE/firewall.py" remove "$CLASSROOM_PORT"
  fi
fi

bash "$HERE/publish.sh"

if running "$HUB_PID"; then
  say "the class is already running at $HUB_URL (roster and passwords updated; stop it with: make classroom-down)"
else
  stop_hub_leftovers
  rm -f "$CLASS_VAR/proxy/api.sock"  # a proxy killed hard leaves its API's socket, which the next could not take
  # The class's TCP ports: any account could hold one first (a student's process that outlived a crash, say)
  # and be sent passwords, cookies and tokens. The proxy's API, the gateway and the practice server are on sockets.
  python3 "$HERE/ports.py" free "$CLASSROOM_PORT=the hub's public port" "$((CLASSROOM_PORT + 81))=the hub's own port"
  say "starting JupyterHub on $HUB_URL (log: $CLASSROOM_DIR/jupyterhub.log)"
  (
    cd "$CLASSROOM_DIR"
    # Nothing of the caller's environment but these (a key exported in the teacher's shell stays there);
    # the hub reads its secrets from the owner-only files, so its environment holds none.
    godir=$(dirname "$(readlink -f "$(command -v go)")")
    clean_env PATH LANG LC_ALL HOME
    export CLASSROOM_PORT CLASSROOM_DIR CLASSROOM_RUNTIME=$RUNTIME CLASSROOM_GATEWAY_DIR=$GATEWAY_DIR \
      CLASSROOM_LESSONS=$LESSONS CLASSROOM_TEACHER=$TEACHER CLASSROOM_GATEWAY_USER=$GATEWAY_USER \
      CLASSROOM_UPSTREAM_URL=$UPSTREAM CLASSROOM_UPSTREAM_SOCKET=$UPSTREAM_SOCKET CLASSROOM_UPSTREAM_KEY=$HAS_KEY \
      CLASSROOM_STUDENT_PROVIDER=$PROVIDER CLASSROOM_STUDENT_MODEL=$MODEL CLASSROOM_STUDENT_PROTOCOL=$PROTOCOL \
      CLASSROOM_UPSTREAM_AGENT_PATH=$AGENT_PATH CLASSROOM_UPSTREAM_AGENT_ONLY=$AGENT_ONLY \
      CLASSROOM_IDLE_TIMEOUT=${IDLE_TIMEOUT:-3600} CLASSROOM_GODIR=$godir CLASSROOM_GITCONFIG=$CLASS_VAR/gitconfig \
      CLASSROOM_PULL_TIMEOUT=${PULL_TIMEOUT:-60} CLASSROOM_GATEWAY_MODELS=${GATEWAY_MODELS:-} \
      CLASSROOM_JUPYTER_AI=${JUPYTER_AI:-on}
    export CLASSROOM_HOST CLASSROOM_HTTPS_PORT  # where students come from: the hub's origins (origins.py)
    # A background job of a script starts with SIGINT ignored, and so would every service and server the
    # hub starts: each would then take its whole SIGINT timeout to stop. Start the hub with defaults.
    setsid env --default-signal=INT,QUIT "$RUNTIME/venv/bin/jupyterhub" -f "$HERE/jupyterhub_config.py" \
      > >(to_log "$CLASSROOM_DIR/jupyterhub.log") 2>&1 </dev/null &
    echo $! >"$HUB_PID"
  )
  STARTED=1
  for _ in $(seq 120); do
    curl -fsS -m 2 -o /dev/null "$HUB_URL/hub/api/" 2>/dev/null && break
    running "$HUB_PID" || die "the hub stopped while starting, so the class is stopped again: see the end of $CLASSROOM_DIR/jupyterhub.log"
    sleep 0.5
  done
  curl -fsS -m 2 -o /dev/null "$HUB_URL/hub/api/" || die "the hub did not answer on $HUB_URL within 60 s, so the class is stopped again: see $CLASSROOM_DIR/jupyterhub.log"
  # What answered is the hub and its proxy only if they hold the ports.
  python3 "$HERE/ports.py" held-by "$(id -u)" "$CLASSROOM_PORT=the hub's public port" "$((CLASSROOM_PORT + 81))=the hub's own port"
  # The proxy reaches the gateway through its socket, which only the gateway's account can make: a 401
  # without a token there is the gateway's.
  for _ in $(seq 60); do
    code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$HUB_URL/services/llm/v1/models" || true)
    [[ $code == 401 || $code == 403 || $code == 200 ]] && break
    sleep 0.5
  done
  [[ $code == 401 || $code == 403 || $code == 200 ]] \
    || die "the gateway (hub service llm) did not answer (HTTP $code), so the class is stopped again: see $CLASSROOM_DIR/jupyterhub.log"
fi

# The roster is the truth for the hub and the gateway too; a dropped student's processes end.
python3 "$HERE/roster.py" hub "$CLASSROOM_DIR" "$HUB_URL"
if [[ $AS_ROOT ]]; then
  for name in "${DROPPED[@]}"; do
    mapfile -t pids < <(account_pids "$name")
    if ((${#pids[@]})); then kill -KILL "${pids[@]}" 2>/dev/null || true; fi
  done
fi

frontdoor_start
class_url >"$CLASSROOM_DIR/class-url"
say "class ready: $(class_url)  (${#STUDENTS[@]} students; upstream $UPSTREAM${UPSTREAM_SOCKET:+ through unix:$UPSTREAM_SOCKET} through the gateway at $HUB_URL/services/llm/)"
say "logins and passwords to hand out: $CLASSROOM_DIR/passwords  (teacher: $TEACHER, hub admin)"
say "teacher's page: $(origins_url page)   API token for scripts: $CLASSROOM_DIR/teacher-api-token"
say "students' own laptops: STREAMDEMO_BASE_URL=$(origins laptops "$CLASSROOM_HOST" "$CLASSROOM_PORT" "$CLASSROOM_HTTPS_PORT") and a token each makes at $(class_url)/hub/token"
say "$(origins separation "$CLASSROOM_HOST" "$CLASSROOM_PORT" "$CLASSROOM_HTTPS_PORT")"
if [[ ${JUPYTER_AI:-on} == on ]]; then say "Jupyternaut (jupyter-ai's chat) in every student's JupyterLab: each server holds ~300 MiB with it, ~90 MiB without (JUPYTER_AI=off)"; fi
say "status: make classroom-status   stop: make classroom-down"
