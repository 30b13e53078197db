#!/usr/bin/env bash
# make classroom-remove CONFIRM=yes: the end of a course. Stops the class, then deletes every account
# the class ever made (the roster's, those dropped from it, the teacher's) with their homes (notebooks
# included), the class's state (passwords, hub database, the gateway's ledger and key) and lessons.git.
# The shared runtime stays.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ ${CONFIRM:-} == yes ]] || die "this deletes the class's accounts, notebooks and ledger: run it with CONFIRM=yes"
bash "$HERE/down.sh"
if [[ $AS_ROOT ]]; then
  for name in $(class_made); do
    id "$name" >/dev/null 2>&1 || continue
    id -nG "$name" | tr ' ' '\n' | grep -qx "$STUDENT_GROUP" || { say "kept $name: not a class account"; continue; }
    userdel --remove "$name" 2>/dev/null || userdel "$name"
  done
  [[ -z $(class_accounts) ]] && groupdel "$STUDENT_GROUP" 2>/dev/null || true
fi
rm -rf "$CLASS_VAR" "$CLASSROOM_DIR"
if rmdir "$(dirname "$CLASS_VAR")" 2>/dev/null && [[ $AS_ROOT ]] && id "$GATEWAY_USER" >/dev/null 2>&1; then
  userdel "$GATEWAY_USER"  # the last class on this machine is gone
fi
say "class removed: accounts, homes, passwords, hub database, ledger and lessons.git are gone"
