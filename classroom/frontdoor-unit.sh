#!/usr/bin/env bash
# The front door's systemd unit (make classroom-service) runs this: `run` is its service (Caddy in the
# foreground), `ready` its ExecStartPost (waits until it answers, hands out the class's own CA),
# `reload` its ExecReload. The class's settings come from the unit's EnvironmentFile.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case ${1:-} in
  run) frontdoor_exec ;;
  ready) frontdoor_ready ;;
  reload) "$RUNTIME/bin/caddy" reload --config "$FRONTDOOR_DIR/Caddyfile" --adapter caddyfile --address "unix/$FRONTDOOR_DIR/admin.sock" ;;
  *) die "usage: frontdoor-unit.sh run|ready|reload" ;;
esac
