# Shared by the classroom scripts (sourced, not run): where a class keeps what, and small helpers.
# A class is named by its port; everything below can be overridden from the environment.
#
#   $CLASSROOM_DIR  (build/classroom)        owner-only: hub database, cookie secret, passwords,
#                                             teacher-api-token (and teacher-api-header, the same
#                                             token as a header line for curl -H @FILE), proxy-auth-token,
#                                             roster-api-token, accounts (every account the class made),
#                                             the proxy API's socket, lessons-build.git (where lessons.py
#                                             builds what it publishes), logs (rotated by size: logpipe.py), pid files
#   $RUNTIME        (/opt/streamdemo-classroom as root)  read-only for students: hub venv, proxy,
#                                             gonb/gopls/goimports, kernelspec, Go module cache,
#                                             warmed build cache seed
#   $CLASS_VAR      (/var/lib/streamdemo-classroom/port-N as root)  lessons.git (world-readable: the
#                                             published commits only), gitconfig (the students' git's),
#                                             gateway/ (the gateway account's alone: key, ledger, the
#                                             sockets of the gateway and the practice server)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLASSROOM_PORT=${CLASSROOM_PORT:-8000}
ROSTER=${ROSTER:-$HERE/roster.example}
CLASSROOM_DIR=${CLASSROOM_DIR:-$REPO/build/classroom}
TEACHER=${TEACHER:-teacher}
STUDENT_GROUP=${STUDENT_GROUP:-streamdemo-class}
GATEWAY_USER=${GATEWAY_USER:-streamdemo-llm}
if [[ $(id -u) == 0 ]]; then
  AS_ROOT=1
  RUNTIME=${CLASSROOM_RUNTIME:-/opt/streamdemo-classroom}
  CLASS_VAR=${CLASS_VAR:-/var/lib/streamdemo-classroom/port-$CLASSROOM_PORT}
else
  AS_ROOT=
  RUNTIME=${CLASSROOM_RUNTIME:-$REPO/build/classroom-runtime}
  CLASS_VAR=${CLASS_VAR:-$CLASSROOM_DIR/var}
fi
GATEWAY_DIR=$CLASS_VAR/gateway
LESSONS=$CLASS_VAR/lessons.git
HUB_PID=$CLASSROOM_DIR/jupyterhub.pid
PRACTICE_PID=$CLASSROOM_DIR/practice-server.pid
HUB_URL=http://127.0.0.1:$CLASSROOM_PORT
PRACTICE_SOCKET=$GATEWAY_DIR/practice.sock
# The class's local model (make classroom-model, classroom/model.py): only root and the gateway's account open it.
MODEL_SOCKET=/run/streamdemo-classroom-model/ollama.sock
LOG_MAX_BYTES=${LOG_MAX_BYTES:-20000000}

say() { printf '==> %s\n' "$*"; }
die() { printf 'classroom: %s\n' "$*" >&2; exit 1; }

# running PIDFILE: true if the process named in PIDFILE is alive.
running() { [[ -f $1 ]] && kill -0 "$(<"$1")" 2>/dev/null; }

# stop_pid PID WHAT: SIGTERM, up to 40 s to exit, then SIGKILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 400); do kill -0 "$1" 2>/dev/null || { say "stopped $2"; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  say "killed $2 (it did not stop within 40 s)"
}

# make model-start's local model (kernel-setup/model-server.sh, one user): its port is OLLAMA_PORT's. Every
# account of the machine can call it there, so only a try-out class (not root) uses it.
LOCAL_MODEL_URL=http://127.0.0.1:${OLLAMA_PORT:-11434}/v1
# local_model URL: true if URL is make model-start's server.
local_model() { [[ $1 == *:${OLLAMA_PORT:-11434}/* || $1 == *:${OLLAMA_PORT:-11434} ]]; }

# class_model: true if the class's local model answers through its socket (asked as the gateway's account).
class_model() {
  [[ $AS_ROOT ]] && as_gateway curl -fsS -m 5 -o /dev/null --unix-socket "$MODEL_SOCKET" http://localhost/v1/models 2>/dev/null
}

# say_model_slots: how many students the class's local model answers at once (model.py's record).
say_model_slots() {
  local slots
  slots=$(cat "$(dirname "$MODEL_SOCKET")/slots" 2>/dev/null) || slots=
  if [[ -n $slots ]]; then say "local model: $slots students answered at once (parallel slots)"
  else say "local model: make model-start's server on $LOCAL_MODEL_URL (a try-out class: every account can call it)"
  fi
}

# to_log FILE: a log that cannot grow without bound (logpipe.py rotates it by size), for COMMAND > >(to_log FILE) 2>&1.
# Its own output goes nowhere: it must not hold the caller's (make's) output open after the caller has ended.
to_log() { exec "$RUNTIME/venv/bin/python" "$HERE/logpipe.py" "$1" "$LOG_MAX_BYTES" >/dev/null 2>&1; }

# checkout_closed: dies if students could read the withheld solutions through this checkout: every commit in its
# .git holds them too, so only a checkout no other account can enter keeps them. (.env is key_from's to check.)
checkout_closed() {
  [[ $AS_ROOT && ${SOLUTIONS:-withhold} == withhold ]] && runuser -u nobody -- test -x "$REPO" 2>/dev/null || return 0
  die "every account of this machine can enter this checkout ($REPO), so students could read the withheld solutions (in notebooks/ and in every commit of .git): close it (chmod 700 $REPO, or a folder above it), then make classroom again"
}

# roster_names: the student names in $ROSTER (comments and blank lines skipped), checked (roster.py's rule).
roster_names() { python3 "$HERE/roster.py" names "$ROSTER" || exit 1; }

# as_gateway COMMAND...: runs COMMAND as the gateway's account (as the hub's user in try-out mode). Root
# never opens a path in the gateway's folder itself: a link planted there would make it read or write any file.
as_gateway() {
  if [[ $AS_ROOT ]]; then runuser -u "$GATEWAY_USER" -- "$@"; else "$@"; fi
}

# clean_env NAME...: unexports every variable but these (the script keeps their values), so a program
# started next inherits no secret of the caller's environment (run it in a subshell).
clean_env() {
  local v keep=" $* "
  for v in $(compgen -e); do [[ $keep == *" $v "* ]] || export -n "$v" 2>/dev/null || true; done
}

# class_accounts: the Unix accounts of this machine's classes (members of $STUDENT_GROUP).
class_accounts() { getent group "$STUDENT_GROUP" | cut -d: -f4 | tr ',' '\n' | grep -v '^$' || true; }

# class_made: every account this class has made (its record, classroom/roster.py), the roster's and the teacher's.
class_made() {
  { echo "$TEACHER"; [[ -f $ROSTER ]] && roster_names; [[ -d $CLASSROOM_DIR ]] && python3 "$HERE/roster.py" accounts "$CLASSROOM_DIR"; } | sort -u
}

# account_pids USER: the pids of USER's processes (none if the account does not exist).
account_pids() { id -u "$1" >/dev/null 2>&1 && pgrep -u "$1" || true; }

# hub_leftovers: what a hub that stopped hard (killed, crashed) left running: the processes it started in
# the class folder (its proxy, the idle culler) and this class's gateway (its folder is its cwd). Student
# servers are not among them: the next hub finds them running and keeps them.
hub_leftovers() {
  local p cwd dir
  dir=$(readlink -m "$CLASSROOM_DIR")
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    if [[ $cwd == "$GATEWAY_DIR" ]] || { [[ $cwd == "$dir" ]] && tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$RUNTIME/"; }; then
      echo "${p#/proc/}"
    fi
  done
}

# stop_hub_leftovers: stops them (SIGTERM, then SIGKILL after 10 s), so a new hub can take their ports.
stop_hub_leftovers() {
  local pids
  mapfile -t pids < <(hub_leftovers)
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local p left
  for _ in $(seq 100); do
    left=()
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
    ((${#left[@]})) || break
    sleep 0.1
  done
  ((${#left[@]})) && kill -KILL "${left[@]}" 2>/dev/null
  say "stopped ${#pids[@]} process(es) that a hub stopped hard had left running (its proxy, the gateway, services)"
}

# keep_hub_database: the hub's database. HUB_DATABASE_URL (in the environment, never as a make argument:
# a command line is every account's to read) or the file HUB_DATABASE_URL_FILE names (owner-only) gives
# a URL, kept in the class folder's hub-database-url (0600) that the hub's configuration reads: no
# command line or environment of the class holds it. Without either the class keeps the database it
# has: SQLite in the class folder at first.
keep_hub_database() {
  local url=${HUB_DATABASE_URL:-} f=${HUB_DATABASE_URL_FILE:-} mode rest
  if [[ -n $f ]]; then
    [[ -r $f ]] || die "the hub database URL file $f cannot be read: fix HUB_DATABASE_URL_FILE"
    mode=$(stat -L -c %a "$f")
    [[ $mode == [46]00 ]] || die "the hub database URL file $f can be read by other accounts (mode $mode): chmod 600 $f, then make classroom again"
    url=$(head -n 1 "$f" | tr -d ' \r\n')
  fi
  if [[ -n $url ]]; then
    case $url in
      postgresql+psycopg://* | sqlite:///*) ;;
      *) die "the hub database URL must start with postgresql+psycopg:// (PostgreSQL through psycopg) or sqlite:///, not ${url%%:*}:" ;;
    esac
    (
      umask 077
      printf '%s\n' "$url" >"$CLASSROOM_DIR/hub-database-url.tmp"
      mv -f "$CLASSROOM_DIR/hub-database-url.tmp" "$CLASSROOM_DIR/hub-database-url"
    )
  fi
  [[ -s $CLASSROOM_DIR/hub-database-url ]] || return 0
  url=$(<"$CLASSROOM_DIR/hub-database-url")
  rest=${url#*://}
  rest=${rest#*@}  # no user or password in what is said
  case $url in
    postgresql*) say "the hub's database: PostgreSQL at ${rest%%\?*}" ;;
    *) say "the hub's database: SQLite at ${url#sqlite:///}" ;;
  esac
}

# classroom ARG...: the class's program (python3 -m classroom), its package found in this checkout alone (-P: not
# in the working folder, which may be anyone's).
classroom() { PYTHONPATH=$REPO python3 -P -m classroom "$@"; }

# The HTTPS front door of a class served beyond loopback (classroom/frontdoor.py).
CLASSROOM_HOST=${CLASSROOM_HOST:-127.0.0.1}
CLASSROOM_HTTPS_PORT=${CLASSROOM_HTTPS_PORT:-443}
# class_url: the address students open: the hub's origin (students' servers and the teacher's page have
# origins of their own under it: origins.py).
class_url() { classroom frontdoor url; }
# frontdoor_wanted: true if the class is served beyond this machine (through the front door).
frontdoor_wanted() { [[ $(class_url) == https://* ]]; }
frontdoor_check() { classroom frontdoor check; }
frontdoor_start() { classroom frontdoor start; }
frontdoor_stop() { classroom frontdoor stop ${1:+--$1}; }
frontdoor_status() { classroom frontdoor status; }
# origins COMMAND ARG...: origins.py, run by the runtime's Python (it has JupyterHub's naming rule).
origins() { "$RUNTIME/venv/bin/python" "$HERE/origins.py" "$@"; }
# origins_url hub|page|student: the hub's origin, the teacher's page, a student's server (NAME for the name).
origins_url() { origins urls "$CLASSROOM_HOST" "$CLASSROOM_PORT" "$CLASSROOM_HTTPS_PORT" | case $1 in hub) sed -n 1p ;; page) sed -n 2p ;; student) sed -n 3p ;; esac; }
