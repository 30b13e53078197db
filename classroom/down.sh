#!/usr/bin/env bash
# make classroom-down: stops the hub (which stops the student servers, the proxy and its services),
# the class's practice server, then anything still running under the class's accounts.
# Accounts, homes, notebooks, passwords, the hub database and the gateway's ledger all stay.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stop_pid PID WHAT: SIGTERM, up to 40 s to exit, then SIGKILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 400); do kill -0 "$1" 2>/dev/null || { say "stopped $2"; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  say "killed $2 (it did not stop within 40 s)"
}

if running "$HUB_PID"; then
  stop_pid "$(<"$HUB_PID")" "the hub and the student servers"
else
  say "the hub is not running"
fi
rm -f "$HUB_PID"
for f in "$CLASSROOM_DIR/proxy.pid" "$PRACTICE_PID"; do
  running "$f" && stop_pid "$(<"$f")" "$(basename "$f" .pid)"
  rm -f "$f"
done

# Anything left under the class's accounts (a kernel of a server killed hard, say).
left=()
if [[ $AS_ROOT && -f $ROSTER ]]; then
  for name in "$TEACHER" $(roster_names); do
    mapfile -t -O "${#left[@]}" left < <(account_pids "$name")
  done
  for pid in $(account_pids "$GATEWAY_USER"); do  # only this class's gateway: its folder is its cwd
    [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$GATEWAY_DIR" ]] && left+=("$pid")
  done
fi
if ((${#left[@]})); then
  kill -KILL "${left[@]}" 2>/dev/null || true
  say "ended ${#left[@]} leftover process(es) of the class's accounts"
fi
say "class stopped; accounts, notebooks, passwords and the ledger are kept (start again: make classroom)"
