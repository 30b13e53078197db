# shellcheck shell=bash
# Sourced by the set-up scripts: runs a long step quietly, its whole output in a log file.
#   step "what is done" "estimate" command [args...]
# On a terminal: one line, updated in place every second: elapsed time, what, estimate.
# Otherwise (CI logs): a plain line when the step starts and one when it ends.
# On failure: the last lines of the log, the log's path and the command to retry ($RETRY).
# Logs go to build/setup/ (STEP_LOG_DIR overrides), one file per step.

STEP_LOG_DIR=${STEP_LOG_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/setup}

# elapsed SECONDS: "42 s" or "2 min 05 s".
elapsed() { if (($1 < 60)); then printf '%d s' "$1"; else printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); fi; }

step() {
  local what=$1 estimate=$2 log start pid rc=0 shown width line
  shift 2
  mkdir -p "$STEP_LOG_DIR"
  log="$STEP_LOG_DIR/$(printf '%s' "$what" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | sed 's/^-//; s/-$//').log"
  shown=${log#"$PWD/"}
  start=$SECONDS
  ("$@") </dev/null >"$log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; printf "\n==> %s: interrupted (log: %s)\n" "$what" "$shown"; exit 130' INT TERM
  if [[ -t 1 ]]; then
    # One line that never wraps (a wrapped line cannot be redrawn in place).
    width=$(stty size 2>/dev/null </dev/tty | cut -d' ' -f2)
    ((${width:-0} >= 20)) || width=80
    while kill -0 "$pid" 2>/dev/null; do
      line="==> $(elapsed $((SECONDS - start)))  $what (usually $estimate)"
      printf '\r\033[K%s' "${line:0:width-1}"
      sleep 1
    done
    printf '\r\033[K'
  else
    printf '==> %s (usually %s; log: %s)\n' "$what" "$estimate" "$shown"
  fi
  wait "$pid" || rc=$?
  trap - INT TERM
  if ((rc == 0)); then
    printf '==> %s: done in %s (log: %s)\n' "$what" "$(elapsed $((SECONDS - start)))" "$shown"
    return 0
  fi
  printf '==> %s: FAILED after %s (exit status %d). The log %s ends with:\n' "$what" "$(elapsed $((SECONDS - start)))" "$rc" "$shown" >&2
  tail -n 20 "$log" | sed 's/^/    /' >&2
  printf '==> full log: %s — retry with: %s\n' "$shown" "${RETRY:-the same command}" >&2
  return "$rc"
}
