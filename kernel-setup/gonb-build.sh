#!/usr/bin/env bash
# Builds GoNB at the version kernel-setup/tools/go.mod pins, with the patch series of
# kernel-setup/gonb-patches/ applied (all of it, or its first N patches), into OUTPUT.
# The source is a copy of the module (from the module cache) under .tools/gonb-src/; the build
# uses kernel-setup/tools/go.mod and go.sum with a replace, so every dependency is the pinned one
# and nothing is fetched once the modules are downloaded.
# Idempotent: skipped in milliseconds while OUTPUT.stamp (GoNB version and module hash, the
# patches' hashes, the Go version) is unchanged.
# Needs go, and patch or git.
# Usage: bash kernel-setup/gonb-build.sh OUTPUT [N]      (N: how many patches; default all)
#        bash kernel-setup/gonb-build.sh --check OUTPUT   (exit 0 if OUTPUT is built with every patch; builds nothing)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MODULE=github.com/janpfeifer/gonb

# shellcheck source=kernel-setup/progress.sh
source "$HERE/progress.sh"
RETRY="bash kernel-setup/gonb-build.sh $*"
say() { printf '==> %s\n' "$*"; }
die() { printf 'gonb-build.sh: %s\n' "$*" >&2; exit 1; }

check=""
if [[ ${1:-} == --check ]]; then check=1; shift; fi
(($# >= 1 && $# <= 2)) || die "usage: bash kernel-setup/gonb-build.sh [--check] OUTPUT [N]"
out=$(realpath -m "$1")
mapfile -t patches < <(find "$HERE/gonb-patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | sort)
n=${2:-${#patches[@]}}
[[ $n =~ ^[0-9]+$ ]] && ((n <= ${#patches[@]})) || die "N must be 0..${#patches[@]} (the patches in kernel-setup/gonb-patches), not '$n'"
patches=("${patches[@]:0:n}")

ver=$(awk -v m="$MODULE" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$HERE/tools/go.mod")
[[ -n $ver ]] || die "$MODULE is not pinned in kernel-setup/tools/go.mod"
sum=$(awk -v m="$MODULE" -v v="$ver" '$1 == m && $2 == v { print $3; exit }' "$HERE/tools/go.sum")
stamp="$MODULE@$ver $sum $(go env GOVERSION)"
for p in "${patches[@]}"; do stamp+=" $(basename "$p"):$(sha256sum "$p" | cut -d' ' -f1)"; done
what="gonb $ver + ${#patches[@]} patch(es)"
# The stamp ends with the binary's size and mtime: a binary replaced by hand is rebuilt.
binstat() { stat -c '%s %Y' "$out" 2>/dev/null || true; }
if [[ -x $out && -f $out.stamp && $(<"$out.stamp") == "$stamp $(binstat)" ]]; then
  [[ -n $check ]] || say "$what: ready"
  exit 0
fi
[[ -z $check ]] || exit 1

build_patched() {
  local dir src mod
  # GOFLAGS=-mod=mod would let `go mod download` edit go.mod; it only reads it here.
  dir=$(env -C "$HERE/tools" GOWORK=off GOFLAGS=-mod=readonly go mod download -json "$MODULE@$ver" \
    | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || { echo "go mod download gave no directory for $MODULE@$ver"; return 1; }
  src="$REPO/.tools/gonb-src/$(basename "$out")"
  rm -rf "$src" && mkdir -p "$src"
  cp -R "$dir/." "$src/src" && chmod -R u+w "$src/src"
  for p in "${patches[@]}"; do
    echo "applying $(basename "$p")"
    if command -v patch >/dev/null; then
      patch -d "$src/src" -p1 --forward --batch <"$p"
    else # git apply, kept from finding this repository above .tools/
      GIT_CEILING_DIRECTORIES="$src" git -C "$src/src" apply -p1 "$p"
    fi
  done
  mkdir -p "$src/mod"
  cp "$HERE/tools/go.mod" "$HERE/tools/go.sum" "$src/mod/"
  env -C "$src/mod" go mod edit -replace="$MODULE=../src"
  mkdir -p "$(dirname "$out")"
  env -C "$src/mod" GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -o "$out.tmp" "$MODULE"
  mv -f "$out.tmp" "$out"
  printf '%s %s\n' "$stamp" "$(binstat)" >"$out.stamp"
}
step "building $what" "~30 s the first time" build_patched
