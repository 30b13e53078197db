#!/usr/bin/env bash
# make classroom-status: says what of the class runs: hub, proxy, gateway, servers and kernels.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! running "$HUB_PID"; then
  say "the class on $HUB_URL is not running (start it: make classroom)"
  exit 0
fi
say "hub: running (pid $(<"$HUB_PID")) at $HUB_URL"
frontdoor_status
running "$CLASSROOM_DIR/proxy.pid" && say "proxy: running (pid $(<"$CLASSROOM_DIR/proxy.pid"))"
running "$PRACTICE_PID" && say "practice server (upstream): running (pid $(<"$PRACTICE_PID")) on unix:$PRACTICE_SOCKET"
[[ $AS_ROOT && -S $MODEL_SOCKET ]] && say "the class's local model: $(python3 "$HERE/model.py" status)"
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$HUB_URL/services/llm/v1/models")
say "gateway (service llm): $([[ $code == 401 || $code == 200 ]] && echo answering || echo "not answering (HTTP $code)")"
[[ -r $CLASSROOM_DIR/teacher-api-token ]] || { say "no teacher API token to ask the hub for users"; exit 0; }
# The token reaches curl on stdin (printf is a builtin): a command line is readable by every account.
printf 'Authorization: token %s\n' "$(<"$CLASSROOM_DIR/teacher-api-token")" \
  | curl -fsS -m 5 -H @- "$HUB_URL/hub/api/users" | python3 -c '
import json, sys
users = json.load(sys.stdin)
up = [u["name"] for u in users if u.get("servers", {}).get("", {}).get("ready")]
print(f"==> users: {len(users)}; servers running: {len(up)}" + (f" ({chr(44).join(up)})" if up else ""))'
kernels=$(pgrep -fc -- "$RUNTIME/bin/gonb --kernel" || true)
say "Go kernels running: ${kernels:-0}"
