#!/usr/bin/env bash
# make classroom-down: stops the hub (which stops the student servers, the proxy and its services),
# the class's practice server, then anything still running under the class's accounts, and removes the
# class's firewall rule (an upstream on this machine without a key). Accounts, homes, notebooks,
# passwords, the hub database and the gateway's ledger all stay.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

frontdoor_stop quiet  # first: no new connection comes in while the class stops
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
stop_hub_leftovers  # a hub killed hard: its proxy, services and gateway are still running

# Anything left under the class's accounts (a kernel of a server killed hard, say), dropped ones included.
left=()
if [[ $AS_ROOT ]]; then
  python3 "$HERE/firewall.py" remove "$CLASSROOM_PORT"
  for name in $(class_made); do
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
