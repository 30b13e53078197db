#!/usr/bin/env bash
# Builds a Go program pinned by a tool module of the repository, unless OUT already is that version:
#   bash classroom/gotool.sh OUT MODDIR PACKAGE
# MODDIR's go.mod names PACKAGE with `tool`; its go.sum pins the whole module graph (-mod=readonly:
# exactly what is pinned, from the Go module proxy, checksums verified). Used for the class's front
# door (Caddy, classroom/frontdoor) and the tests' ACME CA (Pebble, classroom/tests/pebble).
set -euo pipefail
out=$(realpath -m "$1") dir=$2 pkg=$3
name=$(basename "$out")
# The module that holds PACKAGE, and the version MODDIR pins for it.
read -r mod ver < <(env -C "$dir" GOWORK=off GOFLAGS=-mod=readonly go list -f '{{.Module.Path}} {{.Module.Version}}' "$pkg")
have=$(go version -m "$out" 2>/dev/null | awk '$1 == "mod" { print $2 "@" $3 }' || true)
if [[ $have == "$mod@$ver" ]]; then
  printf '==> %s %s: ready\n' "$name" "$ver"
  exit 0
fi
printf '==> building %s %s from %s (first time: 1-3 min)\n' "$name" "$ver" "$dir/go.mod"
mkdir -p "$(dirname "$out")"
env -C "$dir" GOWORK=off GOFLAGS=-mod=readonly go build -o "$out.tmp" "$pkg" \
  || { printf 'classroom: building %s failed: run the command above in %s to see why\n' "$name" "$dir" >&2; exit 1; }
mv -f "$out.tmp" "$out"
